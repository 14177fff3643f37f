import { dropout } from '../../ops/dropout.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';

/** Zeroes elements with probability p while training, as `nn.Dropout(p)`. */
export class Dropout extends Module<[Tensor], Tensor> {
  constructor(
    readonly p = 0.5,
    readonly options: { inplace?: boolean } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`[Dropout] p must be in [0, 1], got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, { p: this.p, training: this.training });
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
registerBuiltinLayer(Dropout);
