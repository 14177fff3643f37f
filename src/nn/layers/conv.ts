import { type Conv2dOptions, conv2d } from '../../ops/conv2d.js';
import type { ConvTranspose2dOptions } from '../../ops/conv-transpose2d.js';
import { pair } from '../../ops/helpers/checks.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defaultBias, defaultWeight } from '../init.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';

export interface Conv2dLayerOptions extends Conv2dOptions {
  bias?: boolean;
}

/**
 * What Conv2d and ConvTranspose2d share, as PyTorch's `_ConvNd`: the group checks, the weight
 * (out, in / groups, kH, kW), or (in, out / groups, kH, kW) when transposed, the bias, the repr.
 */
export abstract class ConvNd<O extends Conv2dOptions | ConvTranspose2dOptions> extends Module<[Tensor], Tensor> {
  weight: Tensor;
  bias: Tensor | null;
  readonly options: O;

  constructor(
    layer: string,
    transposed: boolean,
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number | [number, number],
    options: O & { bias?: boolean },
  ) {
    super();
    const groups = options.groups ?? 1;
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new RangeError(
        `[${layer}] in_channels ${inChannels} and out_channels ${outChannels} must be divisible by groups ${groups}`,
      );
    }
    const [kh, kw] = pair(layer, 'kernelSize', kernelSize, 1);
    const shape = transposed ? [inChannels, outChannels / groups, kh, kw] : [outChannels, inChannels / groups, kh, kw];
    // PyTorch's default for both: kaiming_uniform(a = sqrt 5) with fan_in from dimension 1.
    this.weight = defaultWeight(shape);
    this.bias = options.bias === false ? null : defaultBias(outChannels, shape);
    const { bias, ...convOptions } = options;
    this.options = convOptions as O;
  }

  override extraRepr(): string {
    const [, , kh, kw] = this.weight.shape;
    const o: { stride?: unknown; padding?: unknown; outputPadding?: unknown; dilation?: unknown; groups?: number } =
      this.options;
    const parts = [`${this.inChannels}, ${this.outChannels}, kernel_size=(${kh}, ${kw})`];
    if (o.stride !== undefined) parts.push(`stride=${JSON.stringify(o.stride)}`);
    if (o.padding !== undefined) parts.push(`padding=${JSON.stringify(o.padding)}`);
    if (o.outputPadding !== undefined) parts.push(`output_padding=${JSON.stringify(o.outputPadding)}`);
    if (o.dilation !== undefined) parts.push(`dilation=${JSON.stringify(o.dilation)}`);
    if ((o.groups ?? 1) !== 1) parts.push(`groups=${o.groups}`);
    if (this.bias === null) parts.push('bias=False');
    return parts.join(', ');
  }
}

/**
 * 2-D convolution layer, as `nn.Conv2d(in, out, kernel, stride, padding, dilation, groups, bias)`.
 * @example
 * const conv = new nn.Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false });
 */
export class Conv2d extends ConvNd<Conv2dOptions> {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | [number, number],
    options: Conv2dLayerOptions = {},
  ) {
    super('Conv2d', false, inChannels, outChannels, kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options);
  }
}
registerBuiltinLayer(Conv2d);
