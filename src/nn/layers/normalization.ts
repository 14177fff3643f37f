import { groupNorm } from '../../ops/group-norm.js';
import { layerNorm } from '../../ops/layer-norm.js';
import { ones, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';

/** Layer normalisation over the last dims, as `nn.LayerNorm(normalizedShape, eps, elementwiseAffine)`. */
export class LayerNorm extends Module<[Tensor], Tensor> {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly normalizedShape: number[];

  constructor(
    normalizedShape: number | readonly number[],
    readonly options: { eps?: number; elementwiseAffine?: boolean } = {},
  ) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? ones(this.normalizedShape) : null;
    this.bias = affine ? zeros(this.normalizedShape) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.options.eps ?? 1e-5);
  }

  override extraRepr(): string {
    return `(${this.normalizedShape.join(', ')},), eps=${this.options.eps ?? 1e-5}, elementwise_affine=${this.weight !== null}`;
  }
}
registerBuiltinLayer(LayerNorm);

/** Group normalisation, as `nn.GroupNorm(numGroups, numChannels, eps, affine)`. */
export class GroupNorm extends Module<[Tensor], Tensor> {
  weight: Tensor | null;
  bias: Tensor | null;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    readonly options: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    if (numChannels % numGroups !== 0)
      throw new RangeError(`[GroupNorm] num_channels ${numChannels} must be divisible by num_groups ${numGroups}`);
    const affine = options.affine ?? true;
    this.weight = affine ? ones([numChannels]) : null;
    this.bias = affine ? zeros([numChannels]) : null;
  }

  forward(x: Tensor): Tensor {
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.options.eps ?? 1e-5);
  }
}
registerBuiltinLayer(GroupNorm);
