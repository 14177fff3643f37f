import { AdaptiveAvgPool2d } from '../layers/pooling.js';
import { Conv2d } from '../layers/conv.js';
import { ReLU, Sigmoid } from '../layers/activation.js';
import { Module } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { mul } from '../../ops/mul.js';

/** torchvision's SqueezeExcitation block: channel weights from pooled features, times the input. */
export class SqueezeExcitation extends Module<[Tensor], Tensor> {
  avgpool = new AdaptiveAvgPool2d(1);
  fc1: Conv2d;
  fc2: Conv2d;
  activation: Module<[Tensor], Tensor>;
  scale_activation: Module<[Tensor], Tensor>;

  constructor(
    inputChannels: number,
    squeezeChannels: number,
    options: { activation?: () => Module<[Tensor], Tensor>; scaleActivation?: () => Module<[Tensor], Tensor> } = {},
  ) {
    super();
    this.fc1 = new Conv2d(inputChannels, squeezeChannels, 1);
    this.fc2 = new Conv2d(squeezeChannels, inputChannels, 1);
    this.activation = (options.activation ?? (() => new ReLU()))();
    this.scale_activation = (options.scaleActivation ?? (() => new Sigmoid()))();
  }

  private scale(input: Tensor): Tensor {
    let scale = this.avgpool.call(input);
    scale = this.fc1.call(scale);
    scale = this.activation.call(scale);
    scale = this.fc2.call(scale);
    return this.scale_activation.call(scale);
  }

  forward(input: Tensor): Tensor {
    return mul(this.scale(input), input);
  }
}
