/** AlexNet, as torchvision 0.14's alexnet.py. */
import { Conv2d } from '../nn/layers/conv.js';
import { ReLU } from '../nn/layers/activation.js';
import { Sequential } from '../nn/layers/containers.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { flatten } from '../ops/flatten.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ModelOptions, registerModel } from './registry.js';

export class AlexNet extends Module<[Tensor], Tensor> {
  features = new Sequential<Tensor>(
    new Conv2d(3, 64, 11, { stride: 4, padding: 2 }),
    new ReLU({ inplace: true }),
    new MaxPool2d(3, { stride: 2 }),
    new Conv2d(64, 192, 5, { padding: 2 }),
    new ReLU({ inplace: true }),
    new MaxPool2d(3, { stride: 2 }),
    new Conv2d(192, 384, 3, { padding: 1 }),
    new ReLU({ inplace: true }),
    new Conv2d(384, 256, 3, { padding: 1 }),
    new ReLU({ inplace: true }),
    new Conv2d(256, 256, 3, { padding: 1 }),
    new ReLU({ inplace: true }),
    new MaxPool2d(3, { stride: 2 }),
  );
  avgpool = new AdaptiveAvgPool2d([6, 6]);
  classifier: Sequential<Tensor>;

  constructor(options: ModelOptions & { dropout?: number } = {}) {
    super();
    const p = options.dropout ?? 0.5;
    this.classifier = new Sequential<Tensor>(
      new Dropout(p),
      new Linear(256 * 6 * 6, 4096),
      new ReLU({ inplace: true }),
      new Dropout(p),
      new Linear(4096, 4096),
      new ReLU({ inplace: true }),
      new Linear(4096, options.numClasses ?? 1000),
    );
  }

  forward(x: Tensor): Tensor {
    x = this.features.call(x);
    x = this.avgpool.call(x);
    x = flatten(x, 1);
    return this.classifier.call(x);
  }
}

registerModel({
  name: 'alexnet',
  build: (o = {}) => new AlexNet(o),
  options: ['dropout'],
  transform: { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' },
});
