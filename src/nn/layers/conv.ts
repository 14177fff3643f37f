import { type Conv2dOptions, conv2d } from '../../ops/conv2d.js';
import { pair } from '../../ops/helpers/checks.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defaultBias, defaultWeight } from '../init.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';

export interface Conv2dLayerOptions extends Conv2dOptions {
  bias?: boolean;
}

/**
 * 2-D convolution layer, as `nn.Conv2d(in, out, kernel, stride, padding, dilation, groups, bias)`.
 * @example
 * const conv = new nn.Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false });
 */
export class Conv2d extends Module<[Tensor], Tensor> {
  weight: Tensor;
  bias: Tensor | null;
  readonly options: Conv2dOptions;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | [number, number],
    options: Conv2dLayerOptions = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new RangeError(
        `[Conv2d] in_channels ${inChannels} and out_channels ${outChannels} must be divisible by groups ${groups}`,
      );
    }
    const [kh, kw] = pair('Conv2d', 'kernelSize', kernelSize, 1);
    const shape = [outChannels, inChannels / groups, kh, kw];
    this.weight = defaultWeight(shape);
    this.bias = options.bias === false ? null : defaultBias(outChannels, shape);
    const { bias, ...convOptions } = options;
    this.options = convOptions;
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options);
  }

  override extraRepr(): string {
    const [, , kh, kw] = this.weight.shape;
    const o = this.options;
    const parts = [`${this.inChannels}, ${this.outChannels}, kernel_size=(${kh}, ${kw})`];
    if (o.stride !== undefined) parts.push(`stride=${JSON.stringify(o.stride)}`);
    if (o.padding !== undefined) parts.push(`padding=${JSON.stringify(o.padding)}`);
    if (o.dilation !== undefined) parts.push(`dilation=${JSON.stringify(o.dilation)}`);
    if ((o.groups ?? 1) !== 1) parts.push(`groups=${o.groups}`);
    if (this.bias === null) parts.push('bias=False');
    return parts.join(', ');
  }
}
registerBuiltinLayer(Conv2d);
