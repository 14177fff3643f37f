import { type ConvTranspose2dOptions, convTranspose2d } from '../../ops/conv-transpose2d.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerBuiltinLayer } from '../leaf.js';
import { ConvNd } from './conv.js';

export interface ConvTranspose2dLayerOptions extends ConvTranspose2dOptions {
  bias?: boolean;
}

/**
 * Transposed 2-D convolution layer, as `nn.ConvTranspose2d(in, out, kernel, stride, padding, ...)`;
 * its weight is (in_channels, out_channels / groups, kH, kW), as PyTorch's.
 * @example
 * const up = new nn.ConvTranspose2d(256, 256, 2, { stride: 2 }); // doubles the height and width
 */
export class ConvTranspose2d extends ConvNd<ConvTranspose2dOptions> {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | [number, number],
    options: ConvTranspose2dLayerOptions = {},
  ) {
    super('ConvTranspose2d', true, inChannels, outChannels, kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, this.options);
  }
}
registerBuiltinLayer(ConvTranspose2d);
