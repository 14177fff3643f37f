import { type ConvTranspose2dOptions, convTranspose2d } from '../../ops/conv-transpose2d.js';
import { pair } from '../../ops/helpers/checks.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defaultBias, defaultWeight } from '../init.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';

export interface ConvTranspose2dLayerOptions extends ConvTranspose2dOptions {
  bias?: boolean;
}

/**
 * Transposed 2-D convolution layer, as `nn.ConvTranspose2d(in, out, kernel, stride, padding, ...)`;
 * its weight is (in_channels, out_channels / groups, kH, kW), as PyTorch's.
 * @example
 * const up = new nn.ConvTranspose2d(256, 256, 2, { stride: 2 }); // doubles the height and width
 */
export class ConvTranspose2d extends Module<[Tensor], Tensor> {
  weight: Tensor;
  bias: Tensor | null;
  readonly options: ConvTranspose2dOptions;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | [number, number],
    options: ConvTranspose2dLayerOptions = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new RangeError(
        `[ConvTranspose2d] in_channels ${inChannels} and out_channels ${outChannels} must be divisible by groups ${groups}`,
      );
    }
    const [kh, kw] = pair('ConvTranspose2d', 'kernelSize', kernelSize, 1);
    const shape = [inChannels, outChannels / groups, kh, kw];
    // PyTorch's default: kaiming_uniform(a = sqrt 5) with fan_in from dimension 1, as for Conv2d.
    this.weight = defaultWeight(shape);
    this.bias = options.bias === false ? null : defaultBias(outChannels, shape);
    const { bias, ...convOptions } = options;
    this.options = convOptions;
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, this.options);
  }

  override extraRepr(): string {
    const [, , kh, kw] = this.weight.shape;
    const o = this.options;
    const parts = [`${this.inChannels}, ${this.outChannels}, kernel_size=(${kh}, ${kw})`];
    if (o.stride !== undefined) parts.push(`stride=${JSON.stringify(o.stride)}`);
    if (o.padding !== undefined) parts.push(`padding=${JSON.stringify(o.padding)}`);
    if (this.bias === null) parts.push('bias=False');
    return parts.join(', ');
  }
}
registerBuiltinLayer(ConvTranspose2d);
