/** SqueezeNet 1.0 and 1.1, as torchvision 0.14's squeezenet.py. */
import { Conv2d } from '../nn/layers/conv.js';
import { ReLU } from '../nn/layers/activation.js';
import { Sequential } from '../nn/layers/containers.js';
import { Dropout } from '../nn/layers/dropout.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/layers/pooling.js';
import { fanIn, uniform } from '../nn/init.js';
import { Module } from '../nn/module.js';
import { cat } from '../ops/cat.js';
import { flatten } from '../ops/flatten.js';
import type { Tensor } from '../tensor/tensor.js';
import { initWeights, normalStd } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';

export class Fire extends Module<[Tensor], Tensor> {
  squeeze: Conv2d;
  squeeze_activation = new ReLU({ inplace: true });
  expand1x1: Conv2d;
  expand1x1_activation = new ReLU({ inplace: true });
  expand3x3: Conv2d;
  expand3x3_activation = new ReLU({ inplace: true });

  constructor(inplanes: number, squeezePlanes: number, expand1x1Planes: number, expand3x3Planes: number) {
    super();
    this.squeeze = new Conv2d(inplanes, squeezePlanes, 1);
    this.expand1x1 = new Conv2d(squeezePlanes, expand1x1Planes, 1);
    this.expand3x3 = new Conv2d(squeezePlanes, expand3x3Planes, 3, { padding: 1 });
  }

  forward(x: Tensor): Tensor {
    x = this.squeeze_activation.call(this.squeeze.call(x));
    return cat(
      [this.expand1x1_activation.call(this.expand1x1.call(x)), this.expand3x3_activation.call(this.expand3x3.call(x))],
      1,
    );
  }
}

export class SqueezeNet extends Module<[Tensor], Tensor> {
  features: Sequential<Tensor>;
  classifier: Sequential<Tensor>;

  constructor(version: '1_0' | '1_1', options: ModelOptions & { dropout?: number } = {}) {
    super();
    const pool = (): MaxPool2d => new MaxPool2d(3, { stride: 2, ceilMode: true });
    this.features =
      version === '1_0'
        ? new Sequential<Tensor>(
            new Conv2d(3, 96, 7, { stride: 2 }),
            new ReLU({ inplace: true }),
            pool(),
            new Fire(96, 16, 64, 64),
            new Fire(128, 16, 64, 64),
            new Fire(128, 32, 128, 128),
            pool(),
            new Fire(256, 32, 128, 128),
            new Fire(256, 48, 192, 192),
            new Fire(384, 48, 192, 192),
            new Fire(384, 64, 256, 256),
            pool(),
            new Fire(512, 64, 256, 256),
          )
        : new Sequential<Tensor>(
            new Conv2d(3, 64, 3, { stride: 2 }),
            new ReLU({ inplace: true }),
            pool(),
            new Fire(64, 16, 64, 64),
            new Fire(128, 16, 64, 64),
            pool(),
            new Fire(128, 32, 128, 128),
            new Fire(256, 32, 128, 128),
            pool(),
            new Fire(256, 48, 192, 192),
            new Fire(384, 48, 192, 192),
            new Fire(384, 64, 256, 256),
            new Fire(512, 64, 256, 256),
          );
    const finalConv = new Conv2d(512, options.numClasses ?? 1000, 1);
    this.classifier = new Sequential<Tensor>(
      new Dropout(options.dropout ?? 0.5),
      finalConv,
      new ReLU({ inplace: true }),
      new AdaptiveAvgPool2d([1, 1]),
    );
    // The classifier's conv starts small; the others use kaiming_uniform_ (bound sqrt(6 / fan_in)).
    initWeights(this, {
      conv: (shape, layer) =>
        layer === finalConv ? normalStd(0.01)(shape, layer) : uniform(shape, Math.sqrt(6 / fanIn(shape))),
      zeroConvBias: true,
    });
  }

  forward(x: Tensor): Tensor {
    x = this.features.call(x);
    x = this.classifier.call(x);
    return flatten(x, 1);
  }
}

const IMAGENET = { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' } as const;
registerModel({
  name: 'squeezenet1_0',
  build: (o = {}) => new SqueezeNet('1_0', o),
  options: ['dropout'],
  transform: IMAGENET,
});
registerModel({
  name: 'squeezenet1_1',
  build: (o = {}) => new SqueezeNet('1_1', o),
  options: ['dropout'],
  transform: IMAGENET,
});
