import { zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

export interface ZeroGradOptions {
  /** Clear to null (default, as torch 2), or fill with zeros. */
  setToNone?: boolean;
}

/** Clears the gradients of `params`, as `zero_grad()` does for a module or an optimizer. */
export function zeroGrads(params: Iterable<Tensor>, options: ZeroGradOptions = {}): void {
  for (const p of params) {
    if (p.grad === null) continue;
    p.grad = options.setToNone === false ? zeros(p.grad.shape, { dtype: p.grad.dtype }) : null;
  }
}
