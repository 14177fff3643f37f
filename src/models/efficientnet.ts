/** EfficientNet B0–B7 and EfficientNetV2 S/M/L, as torchvision 0.14's efficientnet.py. */
import { SiLU } from '../nn/layers/activation.js';
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Sequential } from '../nn/layers/containers.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { AdaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { Conv2dNormActivation } from '../nn/vision-ops/conv2d-norm-activation.js';
import { SqueezeExcitation } from '../nn/vision-ops/squeeze-excitation.js';
import { StochasticDepth } from '../nn/vision-ops/stochastic-depth.js';
import { flatten } from '../ops/flatten.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeDivisible } from './make-divisible.js';
import { initWeights, kaimingNormal, uniformBound } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';
import { add } from '../ops/add.js';

type NormLayer = (channels: number) => Module;

/** One stage: `numLayers` blocks, the first with `stride` and `inputChannels`. */
interface StageConfig {
  block: 'MBConv' | 'FusedMBConv';
  expandRatio: number;
  kernel: number;
  stride: number;
  inputChannels: number;
  outChannels: number;
  numLayers: number;
}

const adjustChannels = (channels: number, widthMult: number): number => makeDivisible(channels * widthMult, 8);
const silu = (): SiLU => new SiLU();

/** What both kinds of block share: a residual (through stochastic depth) when shapes allow. */
class EfficientNetBlock extends Module<[Tensor], Tensor> {
  block: Sequential<Tensor>;
  stochastic_depth: StochasticDepth;
  readonly useResConnect: boolean;

  constructor(cnf: StageConfig, stochasticDepthProb: number, layers: Module[]) {
    super();
    if (!(cnf.stride >= 1 && cnf.stride <= 2)) throw new RangeError('illegal stride value');
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    this.block = new Sequential<Tensor>(...layers);
    this.stochastic_depth = new StochasticDepth(stochasticDepthProb, 'row');
  }

  forward(input: Tensor): Tensor {
    let result = this.block.call(input);
    if (this.useResConnect) {
      result = this.stochastic_depth.call(result);
      result = add(result, input);
    }
    return result;
  }
}

/** Inverted residual with a depthwise conv and squeeze-excitation. */
export class MBConv extends EfficientNetBlock {
  constructor(cnf: StageConfig, stochasticDepthProb: number, normLayer: NormLayer) {
    const expanded = adjustChannels(cnf.inputChannels, cnf.expandRatio);
    const layers: Module[] = [];
    if (expanded !== cnf.inputChannels)
      layers.push(new Conv2dNormActivation(cnf.inputChannels, expanded, 1, { normLayer, activationLayer: silu }));
    layers.push(
      new Conv2dNormActivation(expanded, expanded, cnf.kernel, {
        stride: cnf.stride,
        groups: expanded,
        normLayer,
        activationLayer: silu,
      }),
      new SqueezeExcitation(expanded, Math.max(1, Math.floor(cnf.inputChannels / 4)), {
        activation: () => new SiLU({ inplace: true }),
      }),
      new Conv2dNormActivation(expanded, cnf.outChannels, 1, { normLayer, activationLayer: null }),
    );
    super(cnf, stochasticDepthProb, layers);
  }
}

/** EfficientNetV2's block: the expansion and the depthwise conv fused into one regular conv. */
export class FusedMBConv extends EfficientNetBlock {
  constructor(cnf: StageConfig, stochasticDepthProb: number, normLayer: NormLayer) {
    const expanded = adjustChannels(cnf.inputChannels, cnf.expandRatio);
    const conv = (cin: number, cout: number) =>
      new Conv2dNormActivation(cin, cout, cnf.kernel, { stride: cnf.stride, normLayer, activationLayer: silu });
    const layers =
      expanded !== cnf.inputChannels
        ? [
            conv(cnf.inputChannels, expanded),
            new Conv2dNormActivation(expanded, cnf.outChannels, 1, { normLayer, activationLayer: null }),
          ]
        : [conv(cnf.inputChannels, cnf.outChannels)];
    super(cnf, stochasticDepthProb, layers);
  }
}

export interface EfficientNetOptions extends ModelOptions {
  dropout?: number;
  stochasticDepthProb?: number;
}

export class EfficientNet extends Module<[Tensor], Tensor> {
  features: Sequential<Tensor>;
  avgpool = new AdaptiveAvgPool2d(1);
  classifier: Sequential<Tensor>;

  constructor(
    stages: readonly StageConfig[],
    dropout: number,
    normLayer: NormLayer,
    lastChannel: number | undefined,
    options: EfficientNetOptions = {},
  ) {
    super();
    if (stages.length === 0) throw new RangeError('The inverted_residual_setting should not be empty');
    const stochasticDepthProb = options.stochasticDepthProb ?? 0.2;
    const layers: Module[] = [
      new Conv2dNormActivation(3, stages[0]!.inputChannels, 3, { stride: 2, normLayer, activationLayer: silu }),
    ];
    const totalBlocks = stages.reduce((n, s) => n + s.numLayers, 0);
    let blockId = 0;
    for (const cnf of stages) {
      const stage: Module[] = [];
      for (let i = 0; i < cnf.numLayers; i++) {
        const blockCnf = i === 0 ? cnf : { ...cnf, inputChannels: cnf.outChannels, stride: 1 };
        // Stochastic depth grows linearly with the block's position in the network.
        const sdProb = (stochasticDepthProb * blockId) / totalBlocks;
        const Block = cnf.block === 'MBConv' ? MBConv : FusedMBConv;
        stage.push(new Block(blockCnf, sdProb, normLayer));
        blockId++;
      }
      layers.push(new Sequential<Tensor>(...stage));
    }
    const lastIn = stages[stages.length - 1]!.outChannels;
    const lastOut = lastChannel ?? 4 * lastIn;
    layers.push(new Conv2dNormActivation(lastIn, lastOut, 1, { normLayer, activationLayer: silu }));
    this.features = new Sequential<Tensor>(...layers);
    this.classifier = new Sequential<Tensor>(
      new Dropout(options.dropout ?? dropout, { inplace: true }),
      new Linear(lastOut, options.numClasses ?? 1000),
    );
    initWeights(this, {
      conv: kaimingNormal('fanOut'),
      linear: uniformBound((shape) => 1 / Math.sqrt(shape[0]!)),
      zeroConvBias: true,
      zeroLinearBias: true,
    });
  }

  forward(x: Tensor): Tensor {
    x = this.features.call(x);
    x = this.avgpool.call(x);
    x = flatten(x, 1);
    return this.classifier.call(x);
  }
}

type Row = [expandRatio: number, kernel: number, stride: number, input: number, out: number, layers: number];

const stage = (block: StageConfig['block'], [expandRatio, kernel, stride, input, out, layers]: Row): StageConfig => ({
  block,
  expandRatio,
  kernel,
  stride,
  inputChannels: input,
  outChannels: out,
  numLayers: layers,
});

const B_ROWS: Row[] = [
  [1, 3, 1, 32, 16, 1],
  [6, 3, 2, 16, 24, 2],
  [6, 5, 2, 24, 40, 2],
  [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3],
  [6, 5, 2, 112, 192, 4],
  [6, 3, 1, 192, 320, 1],
];

/** B0–B7 scale the channels of B0 by `width` and its depths by `depth` (rounded up). */
function bStages(width: number, depth: number): StageConfig[] {
  return B_ROWS.map(([e, k, s, input, out, layers]) =>
    stage('MBConv', [e, k, s, adjustChannels(input, width), adjustChannels(out, width), Math.ceil(layers * depth)]),
  );
}

const bn = (c: number): BatchNorm2d => new BatchNorm2d(c);
// B5–B7 were ported from TensorFlow with its batch-norm settings; V2 uses eps 1e-3.
const bnTf = (c: number): BatchNorm2d => new BatchNorm2d(c, { eps: 0.001, momentum: 0.01 });
const bnV2 = (c: number): BatchNorm2d => new BatchNorm2d(c, { eps: 0.001 });

const B_VARIANTS = [
  // name, width, depth, dropout, norm, crop, resize, interpolation
  ['efficientnet_b0', 1.0, 1.0, 0.2, bn, 224, 256, 'bicubic'],
  ['efficientnet_b1', 1.0, 1.1, 0.2, bn, 240, 255, 'bilinear'],
  ['efficientnet_b2', 1.1, 1.2, 0.3, bn, 288, 288, 'bicubic'],
  ['efficientnet_b3', 1.2, 1.4, 0.3, bn, 300, 320, 'bicubic'],
  ['efficientnet_b4', 1.4, 1.8, 0.4, bn, 380, 384, 'bicubic'],
  ['efficientnet_b5', 1.6, 2.2, 0.4, bnTf, 456, 456, 'bicubic'],
  ['efficientnet_b6', 1.8, 2.6, 0.5, bnTf, 528, 528, 'bicubic'],
  ['efficientnet_b7', 2.0, 3.1, 0.5, bnTf, 600, 600, 'bicubic'],
] as const;

for (const [name, width, depth, dropout, norm, cropSize, resizeSize, interpolation] of B_VARIANTS) {
  registerModel({
    name,
    build: (o: EfficientNetOptions = {}) => new EfficientNet(bStages(width, depth), dropout, norm, undefined, o),
    options: ['dropout', 'stochasticDepthProb'],
    transform: { resizeSize, cropSize, interpolation },
  });
}

const V2_VARIANTS: [string, number, StageConfig[], number, 'bilinear' | 'bicubic'][] = [
  [
    'efficientnet_v2_s',
    0.2,
    [
      stage('FusedMBConv', [1, 3, 1, 24, 24, 2]),
      stage('FusedMBConv', [4, 3, 2, 24, 48, 4]),
      stage('FusedMBConv', [4, 3, 2, 48, 64, 4]),
      stage('MBConv', [4, 3, 2, 64, 128, 6]),
      stage('MBConv', [6, 3, 1, 128, 160, 9]),
      stage('MBConv', [6, 3, 2, 160, 256, 15]),
    ],
    384,
    'bilinear',
  ],
  [
    'efficientnet_v2_m',
    0.3,
    [
      stage('FusedMBConv', [1, 3, 1, 24, 24, 3]),
      stage('FusedMBConv', [4, 3, 2, 24, 48, 5]),
      stage('FusedMBConv', [4, 3, 2, 48, 80, 5]),
      stage('MBConv', [4, 3, 2, 80, 160, 7]),
      stage('MBConv', [6, 3, 1, 160, 176, 14]),
      stage('MBConv', [6, 3, 2, 176, 304, 18]),
      stage('MBConv', [6, 3, 1, 304, 512, 5]),
    ],
    480,
    'bilinear',
  ],
  [
    'efficientnet_v2_l',
    0.4,
    [
      stage('FusedMBConv', [1, 3, 1, 32, 32, 4]),
      stage('FusedMBConv', [4, 3, 2, 32, 64, 7]),
      stage('FusedMBConv', [4, 3, 2, 64, 96, 7]),
      stage('MBConv', [4, 3, 2, 96, 192, 10]),
      stage('MBConv', [6, 3, 1, 192, 224, 19]),
      stage('MBConv', [6, 3, 2, 224, 384, 25]),
      stage('MBConv', [6, 3, 1, 384, 640, 7]),
    ],
    480,
    'bicubic',
  ],
];

const HALF_NORMALIZE = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

for (const [name, dropout, stages, size, interpolation] of V2_VARIANTS) {
  registerModel({
    name,
    build: (o: EfficientNetOptions = {}) => new EfficientNet(stages, dropout, bnV2, 1280, o),
    options: ['dropout', 'stochasticDepthProb'],
    // The L weights, ported from Google's, take inputs in [-1, 1].
    transform: { resizeSize: size, cropSize: size, interpolation, ...(name === 'efficientnet_v2_l' ? HALF_NORMALIZE : {}) },
  });
}
