import { BatchNorm2d } from '../layers/batch-norm.js';
import { Conv2d } from '../layers/conv.js';
import { ReLU } from '../layers/activation.js';
import { Sequential } from '../layers/containers.js';
import type { Module } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';

export interface Conv2dNormActivationOptions {
  stride?: number | [number, number];
  /** Defaults to (kernelSize - 1) / 2 * dilation, which keeps the size at stride 1. */
  padding?: number | [number, number];
  groups?: number;
  /** A factory for the norm layer given the channel count; null for none (default BatchNorm2d). */
  normLayer?: ((channels: number) => Module) | null;
  /** A factory for the activation; null for none (default ReLU). */
  activationLayer?: (() => Module) | null;
  dilation?: number;
  /** Defaults to true only when there is no norm layer. */
  bias?: boolean;
}

/**
 * torchvision's Conv2dNormActivation: a Sequential of conv ('0'), norm ('1') and activation ('2'),
 * with torchvision's defaults. A default leaf module for feature extraction, as in torchvision.
 */
export class Conv2dNormActivation extends Sequential<Tensor> {
  readonly outChannels: number;

  constructor(inChannels: number, outChannels: number, kernelSize = 3, options: Conv2dNormActivationOptions = {}) {
    const dilation = options.dilation ?? 1;
    const normLayer = options.normLayer === undefined ? (c: number) => new BatchNorm2d(c) : options.normLayer;
    const activationLayer = options.activationLayer === undefined ? () => new ReLU() : options.activationLayer;
    const layers: Module[] = [
      new Conv2d(inChannels, outChannels, kernelSize, {
        stride: options.stride ?? 1,
        padding: options.padding ?? Math.floor((kernelSize - 1) / 2) * dilation,
        dilation,
        groups: options.groups ?? 1,
        bias: options.bias ?? normLayer === null,
      }),
    ];
    if (normLayer !== null) layers.push(normLayer(outChannels));
    if (activationLayer !== null) layers.push(activationLayer());
    super(...layers);
    this.outChannels = outChannels;
  }
}
