/** VGG 11/13/16/19, with and without batch norm, as torchvision 0.14's vgg.py. */
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Conv2d } from '../nn/layers/conv.js';
import { ReLU } from '../nn/layers/activation.js';
import { Sequential } from '../nn/layers/containers.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { flatten } from '../ops/flatten.js';
import type { Tensor } from '../tensor/tensor.js';
import { initWeights, kaimingNormal, normalStd } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';

const CONFIGS = {
  A: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  B: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  D: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  E: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const;

function makeLayers(cfg: readonly (number | 'M')[], batchNorm: boolean): Sequential<Tensor> {
  const layers: Module[] = [];
  let inChannels = 3;
  for (const v of cfg) {
    if (v === 'M') {
      layers.push(new MaxPool2d(2, { stride: 2 }));
    } else {
      layers.push(new Conv2d(inChannels, v, 3, { padding: 1 }));
      if (batchNorm) layers.push(new BatchNorm2d(v));
      layers.push(new ReLU({ inplace: true }));
      inChannels = v;
    }
  }
  return new Sequential<Tensor>(...layers);
}

export interface VGGOptions extends ModelOptions {
  dropout?: number;
}

export class VGG extends Module<[Tensor], Tensor> {
  features: Sequential<Tensor>;
  avgpool = new AdaptiveAvgPool2d([7, 7]);
  classifier: Sequential<Tensor>;

  constructor(features: Sequential<Tensor>, options: VGGOptions = {}) {
    super();
    this.features = features;
    const p = options.dropout ?? 0.5;
    this.classifier = new Sequential<Tensor>(
      new Linear(512 * 7 * 7, 4096),
      new ReLU({ inplace: true }),
      new Dropout(p),
      new Linear(4096, 4096),
      new ReLU({ inplace: true }),
      new Dropout(p),
      new Linear(4096, options.numClasses ?? 1000),
    );
    // torchvision's VGG initialisation (init_weights=True).
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

const IMAGENET = { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' } as const;
for (const [name, cfg, bn] of [
  ['vgg11', 'A', false],
  ['vgg13', 'B', false],
  ['vgg16', 'D', false],
  ['vgg19', 'E', false],
  ['vgg11_bn', 'A', true],
  ['vgg13_bn', 'B', true],
  ['vgg16_bn', 'D', true],
  ['vgg19_bn', 'E', true],
] as const) {
  registerModel({
    name,
    build: (options: VGGOptions = {}) => new VGG(makeLayers(CONFIGS[cfg], bn), options),
    options: ['dropout'],
    transform: IMAGENET,
  });
}
