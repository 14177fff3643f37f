import type { Shape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { getitem, slice } from '../getitem.js';

/** The leading part of `x` along each dim where it is larger than `shape` (same rank). */
export function cropTo(x: Tensor, shape: Shape): Tensor {
  if (x.shape.every((d, i) => d === shape[i])) return x;
  return getitem(
    x,
    shape.map((d, i) => (x.shape[i] === d ? slice() : slice(0, d))),
  );
}
