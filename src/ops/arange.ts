import { arange as arangeTensor } from '../tensor/creation.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { defineOp } from './registry.js';

function checkEnd(end: number): number {
  if (!Number.isInteger(end) || end < 0) throw new RangeError(`[arange] end must be a whole number from 0, got ${end}`);
  return end;
}

/**
 * 0, 1, ..., end - 1 as int64, as `torch.arange(end)`. An op (unlike the `arange` that creates a
 * tensor) so that `end` may be a size computed in the graph when lowered: ONNX's Range.
 * @example
 * F.arange(4); // int64 [0, 1, 2, 3]
 */
export const arange = defineOp({
  name: 'arange',
  infer: (end: number): TensorMeta => ({ dtype: 'int64', shape: [checkEnd(end)] }),
  direct: (end) => (typeof end === 'number' ? arangeTensor(checkEnd(end), undefined, 1, { dtype: 'int64' }) : undefined),
  lower: (ctx, end) =>
    ctx.emit('Range', [
      ctx.constant(0, 'int64'),
      typeof end === 'number' ? ctx.constant(end, 'int64') : ctx.cast(end, 'int64'),
      ctx.constant(1, 'int64'),
    ]),
  differentiable: false,
});
