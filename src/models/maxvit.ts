/** MaxViT, as torchvision 0.14's maxvit.py (maxvit_t). The attention parts are in maxvit-attention.ts. */
import { GELU, SiLU, Tanh } from '../nn/layers/activation.js';
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Conv2d } from '../nn/layers/conv.js';
import { ModuleList, Sequential } from '../nn/layers/containers.js';
import { Flatten } from '../nn/layers/flatten.js';
import { Identity, Linear } from '../nn/layers/linear.js';
import { LayerNorm } from '../nn/layers/normalization.js';
import { AdaptiveAvgPool2d, AvgPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { Conv2dNormActivation } from '../nn/vision-ops/conv2d-norm-activation.js';
import { SqueezeExcitation } from '../nn/vision-ops/squeeze-excitation.js';
import { StochasticDepth } from '../nn/vision-ops/stochastic-depth.js';
import { add } from '../ops/add.js';
import type { Tensor } from '../tensor/tensor.js';
import { initWeights, normalStd } from './init-weights.js';
import { PartitionAttentionLayer } from './maxvit-attention.js';
import { type ModelOptions, registerModel } from './registry.js';

export * from './maxvit-attention.js';

type NormLayer = (channels: number) => Module<[Tensor], Tensor>;
type ActivationLayer = () => Module<[Tensor], Tensor>;

/** The output size of a convolution with this kernel, stride and padding. */
export function getConvOutputShape(
  inputSize: readonly [number, number],
  kernelSize: number,
  stride: number,
  padding: number,
): [number, number] {
  const out = (size: number): number => Math.floor((size - kernelSize + 2 * padding) / stride) + 1;
  return [out(inputSize[0]), out(inputSize[1])];
}

/** Each block's input size: the stem and every block halve the size (3×3, stride 2). */
export function makeBlockInputShapes(inputSize: readonly [number, number], nBlocks: number): [number, number][] {
  const shapes: [number, number][] = [];
  let shape = getConvOutputShape(inputSize, 3, 2, 1);
  for (let i = 0; i < nBlocks; i++) {
    shape = getConvOutputShape(shape, 3, 2, 1);
    shapes.push(shape);
  }
  return shapes;
}

/**
 * Mobile inverted bottleneck: pre-norm, 1×1 expansion, depthwise 3×3, squeeze-excitation and 1×1
 * projection, plus a shortcut (pooled and projected when the size or channels change).
 */
class MBConv extends Module<[Tensor], Tensor> {
  proj: Module<[Tensor], Tensor>;
  stochastic_depth: Module<[Tensor], Tensor>;
  layers: Sequential<Tensor>;

  constructor(
    inChannels: number,
    outChannels: number,
    expansionRatio: number,
    squeezeRatio: number,
    stride: number,
    activationLayer: ActivationLayer,
    normLayer: NormLayer,
    pStochasticDropout = 0,
  ) {
    super();
    if (stride !== 1 || inChannels !== outChannels) {
      const conv = new Conv2d(inChannels, outChannels, 1, { stride: 1, bias: true });
      this.proj =
        stride === 2
          ? new Sequential<Tensor>(new AvgPool2d(3, { stride, padding: 1 }), conv)
          : new Sequential<Tensor>(conv);
    } else {
      this.proj = new Identity();
    }
    const midChannels = Math.trunc(outChannels * expansionRatio);
    const sqzChannels = Math.trunc(outChannels * squeezeRatio);
    this.stochastic_depth = pStochasticDropout ? new StochasticDepth(pStochasticDropout, 'row') : new Identity();
    this.layers = new Sequential<Tensor>({
      pre_norm: normLayer(inChannels),
      conv_a: new Conv2dNormActivation(inChannels, midChannels, 1, {
        stride: 1,
        padding: 0,
        activationLayer,
        normLayer,
      }),
      conv_b: new Conv2dNormActivation(midChannels, midChannels, 3, {
        stride,
        padding: 1,
        activationLayer,
        normLayer,
        groups: midChannels,
      }),
      squeeze_excitation: new SqueezeExcitation(midChannels, sqzChannels, { activation: () => new SiLU() }),
      conv_c: new Conv2d(midChannels, outChannels, 1, { bias: true }),
    });
  }

  /** x: [B, C, H, W]; out: [B, C', H / stride, W / stride]. */
  forward(x: Tensor): Tensor {
    const res = this.proj.call(x);
    x = this.stochastic_depth.call(this.layers.call(x));
    return add(res, x);
  }
}

// Exported under another name: EfficientNet's MBConv, a different block, has this one.
export { MBConv as MaxVitMBConv };

/** What MaxVitLayer and MaxVitBlock share (torchvision's keyword arguments, in camelCase). */
interface LayerSettings {
  squeezeRatio: number;
  expansionRatio: number;
  normLayer: NormLayer;
  activationLayer: ActivationLayer;
  headDim: number;
  mlpRatio: number;
  mlpDropout: number;
  attentionDropout: number;
  partitionSize: number;
}

/** An MBConv, then attention within windows, then attention across a grid. */
export class MaxVitLayer extends Module<[Tensor], Tensor> {
  layers: Sequential<Tensor>;

  constructor(
    inChannels: number,
    outChannels: number,
    stride: number,
    pStochasticDropout: number,
    gridSize: readonly [number, number],
    s: LayerSettings,
  ) {
    super();
    const attention = (partitionType: 'window' | 'grid'): PartitionAttentionLayer =>
      new PartitionAttentionLayer({
        inChannels: outChannels,
        headDim: s.headDim,
        partitionSize: s.partitionSize,
        partitionType,
        gridSize,
        mlpRatio: s.mlpRatio,
        activationLayer: s.activationLayer,
        normLayer: (c) => new LayerNorm(c),
        attentionDropout: s.attentionDropout,
        mlpDropout: s.mlpDropout,
        pStochasticDropout,
      });
    this.layers = new Sequential<Tensor>({
      MBconv: new MBConv(
        inChannels,
        outChannels,
        s.expansionRatio,
        s.squeezeRatio,
        stride,
        s.activationLayer,
        s.normLayer,
        pStochasticDropout,
      ),
      window_attention: attention('window'),
      grid_attention: attention('grid'),
    });
  }

  forward(x: Tensor): Tensor {
    return this.layers.call(x);
  }
}

/** `pStochastic.length` MaxVit layers; the first halves the size. */
export class MaxVitBlock extends Module<[Tensor], Tensor> {
  layers = new ModuleList<MaxVitLayer>();
  readonly grid_size: [number, number];

  constructor(
    inChannels: number,
    outChannels: number,
    inputGridSize: readonly [number, number],
    nLayers: number,
    pStochastic: readonly number[],
    settings: LayerSettings,
  ) {
    super();
    if (pStochastic.length !== nLayers) {
      throw new RangeError(
        `p_stochastic must have length n_layers=${nLayers}, got p_stochastic=[${pStochastic.join(', ')}].`,
      );
    }
    // The first layer's stride.
    this.grid_size = getConvOutputShape(inputGridSize, 3, 2, 1);
    pStochastic.forEach((p, i) =>
      this.layers.push(
        new MaxVitLayer(i === 0 ? inChannels : outChannels, outChannels, i === 0 ? 2 : 1, p, this.grid_size, settings),
      ),
    );
  }

  forward(x: Tensor): Tensor {
    for (const layer of this.layers) x = layer.call(x);
    return x;
  }
}

/** torchvision's MaxVit arguments, in camelCase. */
export interface MaxVitConfig extends ModelOptions {
  /** Fixed at construction: the attention layers' partition counts follow from it. */
  inputSize: readonly [number, number];
  stemChannels: number;
  partitionSize: number;
  blockChannels: readonly number[];
  blockLayers: readonly number[];
  headDim: number;
  /** Grows linearly from 0 at the first layer to this at the last. */
  stochasticDepthProb: number;
  /** For the convolutions; default BatchNorm2d(eps 1e-3, momentum 0.99). */
  normLayer?: NormLayer;
  /** For convolutions and MLPs; default GELU. */
  activationLayer?: ActivationLayer;
  squeezeRatio?: number;
  expansionRatio?: number;
  mlpRatio?: number;
  mlpDropout?: number;
  attentionDropout?: number;
}

/** `count` values evenly from 0 to `end`, as numpy.linspace. */
function linspace(end: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (count === 1 ? 0 : (end * i) / (count - 1)));
}

/** MaxViT: a convolutional stem, blocks of MBConv + window and grid attention, and a pooled head. */
export class MaxVit extends Module<[Tensor], Tensor> {
  stem: Sequential<Tensor>;
  readonly partition_size: number;
  blocks = new ModuleList<MaxVitBlock>();
  classifier: Sequential<Tensor>;

  constructor(config: MaxVitConfig) {
    super();
    const normLayer: NormLayer = config.normLayer ?? ((c) => new BatchNorm2d(c, { eps: 1e-3, momentum: 0.99 }));
    const activationLayer: ActivationLayer = config.activationLayer ?? (() => new GELU());
    const { partitionSize, blockChannels, blockLayers, stemChannels } = config;
    const blockInputSizes = makeBlockInputShapes(config.inputSize, blockChannels.length);
    blockInputSizes.forEach(([h, w], i) => {
      if (h % partitionSize !== 0 || w % partitionSize !== 0) {
        throw new RangeError(
          `Input size (${h}, ${w}) of block ${i} is not divisible by partition size ${partitionSize}. ` +
            `Consider changing the partition size or the input size.\n` +
            `Current configuration yields the following block input sizes: [${blockInputSizes.map((s) => `(${s.join(', ')})`).join(', ')}].`,
        );
      }
    });
    this.stem = new Sequential<Tensor>(
      new Conv2dNormActivation(3, stemChannels, 3, { stride: 2, normLayer, activationLayer, bias: false }),
      new Conv2dNormActivation(stemChannels, stemChannels, 3, {
        stride: 1,
        normLayer: null,
        activationLayer: null,
        bias: true,
      }),
    );
    let inputSize = getConvOutputShape(config.inputSize, 3, 2, 1);
    this.partition_size = partitionSize;
    const settings: LayerSettings = {
      squeezeRatio: config.squeezeRatio ?? 0.25,
      expansionRatio: config.expansionRatio ?? 4,
      normLayer,
      activationLayer,
      headDim: config.headDim,
      mlpRatio: config.mlpRatio ?? 4,
      mlpDropout: config.mlpDropout ?? 0,
      attentionDropout: config.attentionDropout ?? 0,
      partitionSize,
    };
    const pStochastic = linspace(
      config.stochasticDepthProb,
      blockLayers.reduce((a, b) => a + b, 0),
    );
    let pIndex = 0;
    blockChannels.forEach((outChannels, i) => {
      const inChannels = i === 0 ? stemChannels : blockChannels[i - 1]!;
      const nLayers = blockLayers[i]!;
      const block = new MaxVitBlock(
        inChannels,
        outChannels,
        inputSize,
        nLayers,
        pStochastic.slice(pIndex, pIndex + nLayers),
        settings,
      );
      this.blocks.push(block);
      inputSize = block.grid_size;
      pIndex += nLayers;
    });
    const last = blockChannels[blockChannels.length - 1]!;
    this.classifier = new Sequential<Tensor>(
      new AdaptiveAvgPool2d(1),
      new Flatten(),
      new LayerNorm(last),
      new Linear(last, last),
      new Tanh(),
      new Linear(last, config.numClasses ?? 1000, { bias: false }),
    );
    initWeights(this, { conv: normalStd(0.02), linear: normalStd(0.02), zeroConvBias: true, zeroLinearBias: true });
  }

  forward(x: Tensor): Tensor {
    x = this.stem.call(x);
    for (const block of this.blocks) x = block.call(x);
    return this.classifier.call(x);
  }
}

/** maxvit_t's options: MaxVit's arguments that its builder does not fix. */
export type MaxVitTOptions = Partial<
  Pick<
    MaxVitConfig,
    | 'inputSize'
    | 'normLayer'
    | 'activationLayer'
    | 'squeezeRatio'
    | 'expansionRatio'
    | 'mlpRatio'
    | 'mlpDropout'
    | 'attentionDropout'
    | 'numClasses'
  >
>;

registerModel({
  name: 'maxvit_t',
  build: (o: MaxVitTOptions = {}) =>
    new MaxVit({
      ...o,
      inputSize: o.inputSize ?? [224, 224],
      stemChannels: 64,
      blockChannels: [64, 128, 256, 512],
      blockLayers: [2, 2, 5, 2],
      headDim: 32,
      stochasticDepthProb: 0.2,
      partitionSize: 7,
    }),
  options: [
    'inputSize',
    'normLayer',
    'activationLayer',
    'squeezeRatio',
    'expansionRatio',
    'mlpRatio',
    'mlpDropout',
    'attentionDropout',
  ],
  transform: { resizeSize: 224, cropSize: 224, interpolation: 'bicubic' },
});
