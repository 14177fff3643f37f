/** MobileNetV3 small and large, as torchvision 0.14's mobilenetv3.py. */
import { Hardsigmoid, Hardswish, ReLU } from '../nn/layers/activation.js';
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Sequential } from '../nn/layers/containers.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { AdaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { Conv2dNormActivation } from '../nn/vision-ops/conv2d-norm-activation.js';
import { SqueezeExcitation } from '../nn/vision-ops/squeeze-excitation.js';
import { flatten } from '../ops/flatten.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeDivisible } from './make-divisible.js';
import { initWeights, kaimingNormal, normalStd } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';
import { add } from '../ops/add.js';

interface BlockConfig {
  input: number;
  kernel: number;
  expanded: number;
  out: number;
  useSe: boolean;
  useHs: boolean;
  stride: number;
  dilation: number;
}

// torchvision's MobileNetV3 norm layer: BatchNorm2d(eps=0.001, momentum=0.01).
const norm = (c: number): BatchNorm2d => new BatchNorm2d(c, { eps: 0.001, momentum: 0.01 });

export class InvertedResidualV3 extends Module<[Tensor], Tensor> {
  block: Sequential<Tensor>;
  readonly useResConnect: boolean;
  /** Starts a stage (torchvision's `_is_cn`): where detection backbones take their feature maps. */
  readonly isCn: boolean;
  readonly outChannels: number;

  constructor(cnf: BlockConfig) {
    super();
    this.useResConnect = cnf.stride === 1 && cnf.input === cnf.out;
    this.isCn = cnf.stride > 1;
    this.outChannels = cnf.out;
    const activationLayer = cnf.useHs ? () => new Hardswish() : () => new ReLU();
    const layers: Module[] = [];
    if (cnf.expanded !== cnf.input) {
      layers.push(new Conv2dNormActivation(cnf.input, cnf.expanded, 1, { normLayer: norm, activationLayer }));
    }
    layers.push(
      new Conv2dNormActivation(cnf.expanded, cnf.expanded, cnf.kernel, {
        stride: cnf.dilation > 1 ? 1 : cnf.stride,
        dilation: cnf.dilation,
        groups: cnf.expanded,
        normLayer: norm,
        activationLayer,
      }),
    );
    if (cnf.useSe) {
      layers.push(
        new SqueezeExcitation(cnf.expanded, makeDivisible(Math.floor(cnf.expanded / 4), 8), {
          scaleActivation: () => new Hardsigmoid(),
        }),
      );
    }
    layers.push(new Conv2dNormActivation(cnf.expanded, cnf.out, 1, { normLayer: norm, activationLayer: null }));
    this.block = new Sequential<Tensor>(...layers);
  }

  forward(input: Tensor): Tensor {
    let result = this.block.call(input);
    if (this.useResConnect) result = add(result, input);
    return result;
  }
}

type Row = [number, number, number, number, boolean, 'RE' | 'HS', number, number];

const LARGE: Row[] = [
  [16, 3, 16, 16, false, 'RE', 1, 1],
  [16, 3, 64, 24, false, 'RE', 2, 1],
  [24, 3, 72, 24, false, 'RE', 1, 1],
  [24, 5, 72, 40, true, 'RE', 2, 1],
  [40, 5, 120, 40, true, 'RE', 1, 1],
  [40, 5, 120, 40, true, 'RE', 1, 1],
  [40, 3, 240, 80, false, 'HS', 2, 1],
  [80, 3, 200, 80, false, 'HS', 1, 1],
  [80, 3, 184, 80, false, 'HS', 1, 1],
  [80, 3, 184, 80, false, 'HS', 1, 1],
  [80, 3, 480, 112, true, 'HS', 1, 1],
  [112, 3, 672, 112, true, 'HS', 1, 1],
  [112, 5, 672, 160, true, 'HS', 2, 1],
  [160, 5, 960, 160, true, 'HS', 1, 1],
  [160, 5, 960, 160, true, 'HS', 1, 1],
];

const SMALL: Row[] = [
  [16, 3, 16, 16, true, 'RE', 2, 1],
  [16, 3, 72, 24, false, 'RE', 2, 1],
  [24, 3, 88, 24, false, 'RE', 1, 1],
  [24, 5, 96, 40, true, 'HS', 2, 1],
  [40, 5, 240, 40, true, 'HS', 1, 1],
  [40, 5, 240, 40, true, 'HS', 1, 1],
  [40, 5, 120, 48, true, 'HS', 1, 1],
  [48, 5, 144, 48, true, 'HS', 1, 1],
  [48, 5, 288, 96, true, 'HS', 2, 1],
  [96, 5, 576, 96, true, 'HS', 1, 1],
  [96, 5, 576, 96, true, 'HS', 1, 1],
];

export interface MobileNetV3Options extends ModelOptions {
  widthMult?: number;
  dropout?: number;
}

export class MobileNetV3 extends Module<[Tensor], Tensor> {
  features: Sequential<Tensor>;
  avgpool = new AdaptiveAvgPool2d(1);
  classifier: Sequential<Tensor>;

  constructor(rows: readonly Row[], lastChannel: number, options: MobileNetV3Options = {}) {
    super();
    const width = options.widthMult ?? 1;
    const adjust = (c: number): number => makeDivisible(c * width, 8);
    const configs = rows.map(([input, kernel, expanded, out, useSe, act, stride, dilation]): BlockConfig => ({
      input: adjust(input),
      kernel,
      expanded: adjust(expanded),
      out: adjust(out),
      useSe,
      useHs: act === 'HS',
      stride,
      dilation,
    }));
    const hardswish = (): Hardswish => new Hardswish();
    const layers: Module[] = [
      new Conv2dNormActivation(3, configs[0]!.input, 3, { stride: 2, normLayer: norm, activationLayer: hardswish }),
    ];
    for (const cnf of configs) layers.push(new InvertedResidualV3(cnf));
    const lastIn = configs[configs.length - 1]!.out;
    layers.push(new Conv2dNormActivation(lastIn, 6 * lastIn, 1, { normLayer: norm, activationLayer: hardswish }));
    this.features = new Sequential<Tensor>(...layers);
    this.classifier = new Sequential<Tensor>(
      new Linear(6 * lastIn, adjust(lastChannel)),
      new Hardswish({ inplace: true }),
      new Dropout(options.dropout ?? 0.2, { inplace: true }),
      new Linear(adjust(lastChannel), options.numClasses ?? 1000),
    );
    initWeights(this, {
      conv: kaimingNormal('fanOut'),
      linear: normalStd(0.01),
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

registerModel({
  name: 'mobilenet_v3_large',
  build: (o: MobileNetV3Options = {}) => new MobileNetV3(LARGE, 1280, o),
  options: ['widthMult', 'dropout'],
  transform: { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' },
});
registerModel({
  name: 'mobilenet_v3_small',
  build: (o: MobileNetV3Options = {}) => new MobileNetV3(SMALL, 1024, o),
  options: ['widthMult', 'dropout'],
  transform: { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' },
});
