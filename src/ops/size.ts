import { normalizeDim } from '../tensor/shape.js';
import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

/**
 * `Tensor.size()`: the shape, or one size. Plain JS when run; traced, it records a node, and
 * exported it becomes Shape/Gather so that sizes stay dynamic.
 */
const sizeOp = defineOp({
  name: 'size',
  infer: (x: TensorMeta, dim?: number): TensorMeta => {
    expectTensor('size', 'input', x);
    return { dtype: 'int64', shape: dim === undefined ? [x.shape.length] : [] };
  },
  direct: (x, dim) => (dim === undefined ? [...x.shape] : x.shape[normalizeDim(dim, x.shape.length, 'size')]!) as never,
  lower: (ctx, x, dim) => {
    const shape = ctx.emit('Shape', [x]);
    if (dim === undefined) return shape;
    return ctx.emit('Gather', [shape, ctx.constant(normalizeDim(dim, x.shape.length, 'size'), 'int64')], { axis: 0 });
  },
});

/** What callers get: JS numbers (graph values when traced, as torch.fx's `x.size()`). */
export interface SizeFunction {
  (x: Tensor): number[];
  (x: Tensor, dim: number): number;
}

/** `x.size()`, the method form of SizeFunction. */
export interface SizeMethod {
  (): number[];
  (dim: number): number;
}

// SizeFunction first: TypeScript resolves calls against the first matching signature.
export const size = sizeOp as SizeFunction & typeof sizeOp;
