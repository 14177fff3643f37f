/** ConvNeXt tiny, small, base and large, as torchvision 0.14's convnext.py. */
import { GELU } from '../nn/layers/activation.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Sequential } from '../nn/layers/containers.js';
import { Flatten } from '../nn/layers/flatten.js';
import { Linear } from '../nn/layers/linear.js';
import { LayerNorm } from '../nn/layers/normalization.js';
import { AdaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { Conv2dNormActivation } from '../nn/vision-ops/conv2d-norm-activation.js';
import { Permute } from '../nn/vision-ops/permute.js';
import { StochasticDepth } from '../nn/vision-ops/stochastic-depth.js';
import { layerNorm } from '../ops/layer-norm.js';
import { full } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { initWeights, truncNormal } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';
import { add } from '../ops/add.js';
import { mul } from '../ops/mul.js';

/**
 * LayerNorm over the channels of an NCHW tensor. Not a leaf (it subclasses LayerNorm outside
 * the built-in layers), so tracing records its permutes and layer_norm, as torch.fx does.
 */
export class LayerNorm2d extends LayerNorm {
  override forward(x: Tensor): Tensor {
    x = x.permute([0, 2, 3, 1]);
    x = layerNorm(x, this.normalizedShape, this.weight, this.bias, this.options.eps ?? 1e-5);
    return x.permute([0, 3, 1, 2]);
  }
}

const layerNorm2d = (c: number): LayerNorm2d => new LayerNorm2d(c, { eps: 1e-6 });

/** depthwise 7×7 conv → LayerNorm → MLP (4×) in channels-last, scaled, plus the input. */
export class CNBlock extends Module<[Tensor], Tensor> {
  block: Sequential<Tensor>;
  layer_scale: Tensor;
  stochastic_depth: StochasticDepth;

  constructor(dim: number, layerScale: number, stochasticDepthProb: number) {
    super();
    this.block = new Sequential<Tensor>(
      new Conv2d(dim, dim, 7, { padding: 3, groups: dim, bias: true }),
      new Permute([0, 2, 3, 1]),
      new LayerNorm(dim, { eps: 1e-6 }),
      new Linear(dim, 4 * dim),
      new GELU(),
      new Linear(4 * dim, dim),
      new Permute([0, 3, 1, 2]),
    );
    this.layer_scale = full([dim, 1, 1], layerScale);
    this.stochastic_depth = new StochasticDepth(stochasticDepthProb, 'row');
  }

  forward(input: Tensor): Tensor {
    let result = mul(this.layer_scale, this.block.call(input));
    result = this.stochastic_depth.call(result);
    return add(result, input);
  }
}

/** A stage of `numLayers` blocks at `inputChannels`, then a downsampling to `outChannels` (if any). */
type StageRow = [inputChannels: number, outChannels: number | null, numLayers: number];

export interface ConvNeXtOptions extends ModelOptions {
  stochasticDepthProb?: number;
  layerScale?: number;
}

export class ConvNeXt extends Module<[Tensor], Tensor> {
  features: Sequential<Tensor>;
  avgpool = new AdaptiveAvgPool2d(1);
  classifier: Sequential<Tensor>;

  constructor(stages: readonly StageRow[], stochasticDepthProb: number, options: ConvNeXtOptions = {}) {
    super();
    if (stages.length === 0) throw new RangeError('The block_setting should not be empty');
    const layerScale = options.layerScale ?? 1e-6;
    const sdProb = options.stochasticDepthProb ?? stochasticDepthProb;
    const layers: Module[] = [
      new Conv2dNormActivation(3, stages[0]![0], 4, {
        stride: 4,
        padding: 0,
        normLayer: layerNorm2d,
        activationLayer: null,
        bias: true,
      }),
    ];
    const totalBlocks = stages.reduce((n, [, , count]) => n + count, 0);
    let blockId = 0;
    for (const [input, out, count] of stages) {
      const stage: Module[] = [];
      for (let i = 0; i < count; i++) {
        // Stochastic depth grows linearly from 0 at the first block to sdProb at the last.
        stage.push(new CNBlock(input, layerScale, (sdProb * blockId) / (totalBlocks - 1)));
        blockId++;
      }
      layers.push(new Sequential<Tensor>(...stage));
      if (out !== null)
        layers.push(new Sequential<Tensor>(layerNorm2d(input), new Conv2d(input, out, 2, { stride: 2 })));
    }
    this.features = new Sequential<Tensor>(...layers);
    const [lastIn, lastOut] = stages[stages.length - 1]!;
    const channels = lastOut ?? lastIn;
    this.classifier = new Sequential<Tensor>(
      layerNorm2d(channels),
      new Flatten(1),
      new Linear(channels, options.numClasses ?? 1000),
    );
    initWeights(this, { conv: truncNormal(0.02), linear: truncNormal(0.02), zeroConvBias: true, zeroLinearBias: true });
  }

  forward(x: Tensor): Tensor {
    x = this.features.call(x);
    x = this.avgpool.call(x);
    return this.classifier.call(x);
  }
}

const CONVNEXTS: [string, StageRow[], number, number][] = [
  // name, stages, stochastic depth, resize size (crop 224, bilinear)
  [
    'convnext_tiny',
    [
      [96, 192, 3],
      [192, 384, 3],
      [384, 768, 9],
      [768, null, 3],
    ],
    0.1,
    236,
  ],
  [
    'convnext_small',
    [
      [96, 192, 3],
      [192, 384, 3],
      [384, 768, 27],
      [768, null, 3],
    ],
    0.4,
    230,
  ],
  [
    'convnext_base',
    [
      [128, 256, 3],
      [256, 512, 3],
      [512, 1024, 27],
      [1024, null, 3],
    ],
    0.5,
    232,
  ],
  [
    'convnext_large',
    [
      [192, 384, 3],
      [384, 768, 3],
      [768, 1536, 27],
      [1536, null, 3],
    ],
    0.5,
    232,
  ],
];

for (const [name, stages, sdProb, resizeSize] of CONVNEXTS) {
  registerModel({
    name,
    build: (o: ConvNeXtOptions = {}) => new ConvNeXt(stages, sdProb, o),
    options: ['stochasticDepthProb', 'layerScale'],
    transform: { resizeSize, cropSize: 224, interpolation: 'bilinear' },
  });
}
