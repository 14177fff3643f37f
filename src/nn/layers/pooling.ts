import { type AdaptiveSize, adaptiveAvgPool2d, adaptiveMaxPool2d } from '../../ops/adaptive-avg-pool2d.js';
import { type AvgPool2dOptions, avgPool2d } from '../../ops/avg-pool2d.js';
import { type MaxPool2dOptions, maxPool2d } from '../../ops/max-pool2d.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';

/** `nn.MaxPool2d(kernelSize, { stride, padding, dilation, ceilMode })`. */
export class MaxPool2d extends Module<[Tensor], Tensor> {
  readonly options: MaxPool2dOptions;
  constructor(kernelSize: number | [number, number], options: Omit<MaxPool2dOptions, 'kernelSize'> = {}) {
    super();
    this.options = { ...options, kernelSize };
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.options);
  }
}

/** `nn.AvgPool2d(kernelSize, { stride, padding, ceilMode, countIncludePad })`. */
export class AvgPool2d extends Module<[Tensor], Tensor> {
  readonly options: AvgPool2dOptions;
  constructor(kernelSize: number | [number, number], options: Omit<AvgPool2dOptions, 'kernelSize'> = {}) {
    super();
    this.options = { ...options, kernelSize };
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.options);
  }
}

/** `nn.AdaptiveAvgPool2d(outputSize)`. */
export class AdaptiveAvgPool2d extends Module<[Tensor], Tensor> {
  constructor(readonly outputSize: AdaptiveSize) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** `nn.AdaptiveMaxPool2d(outputSize)` (values only). */
export class AdaptiveMaxPool2d extends Module<[Tensor], Tensor> {
  constructor(readonly outputSize: AdaptiveSize) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveMaxPool2d(x, this.outputSize);
  }
}

for (const layer of [MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d]) registerBuiltinLayer(layer);
