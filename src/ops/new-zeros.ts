import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

/**
 * Zeros of `size` with the dtype of `x`, as `Tensor.new_zeros`. Backward rules build their zero
 * canvases with it, so that they trace like any other op.
 */
export const newZeros = defineOp({
  name: 'new_zeros',
  infer: (x: TensorMeta, size: readonly number[]): TensorMeta => {
    expectTensor('new_zeros', 'input', x);
    if (!Array.isArray(size) || !size.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new RangeError(`[new_zeros] size must be a list of non-negative integers, got ${String(size)}`);
    }
    return { dtype: x.dtype, shape: [...size] };
  },
  lower: (ctx, x, size) => ctx.emit('Expand', [ctx.constant(0, x.dtype), ctx.int64s(size)]),
  // The result does not depend on the values of x.
  differentiable: false,
});
