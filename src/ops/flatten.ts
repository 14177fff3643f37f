import { normalizeDim } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';
import { reshape } from './reshape.js';

function dims(x: { shape: readonly unknown[] }, startDim: number, endDim: number): [number, number] {
  const rank = Math.max(x.shape.length, 1);
  const start = normalizeDim(startDim, rank, 'flatten');
  const end = normalizeDim(endDim, rank, 'flatten');
  if (start > end) throw new RangeError(`[flatten] startDim ${startDim} comes after endDim ${endDim}`);
  return [start, end];
}

/**
 * Merges dims startDim..endDim into one, as `torch.flatten` (startDim defaults to 0, as torch's).
 * @example
 * F.flatten(zeros([2, 3, 4]), 1); // shape [2, 12]
 */
export const flatten = defineOp({
  name: 'flatten',
  view: true,
  infer: (x: TensorMeta, startDim: number = 0, endDim: number = -1): TensorMeta => {
    expectTensor('flatten', 'input', x);
    if (x.shape.length === 0) return { dtype: x.dtype, shape: [1] };
    const [start, end] = dims(x, startDim, endDim);
    const merged = x.shape.slice(start, end + 1).reduce((a, d) => a * d, 1);
    return { dtype: x.dtype, shape: [...x.shape.slice(0, start), merged, ...x.shape.slice(end + 1)] };
  },
  lower: (ctx, x, startDim = 0, endDim = -1) => {
    if (x.shape.length === 0) return ctx.emit('Reshape', [x, ctx.int64s([1])]);
    const [start, end] = dims(x, startDim, endDim);
    const rank = x.shape.length;
    // Reshape copies a 0 from the same input position, so only leading dims can be kept that way;
    // trailing kept dims come from the input's shape.
    if (end === rank - 1) return ctx.emit('Reshape', [x, ctx.int64s([...Array<number>(start).fill(0), -1])]);
    const tail = ctx.emit('Slice', [ctx.emit('Shape', [x]), ctx.int64s([end + 1]), ctx.int64s([rank])]);
    const shape = ctx.emit('Concat', [ctx.int64s([...Array<number>(start).fill(0), -1]), tail], { axis: 0 });
    return ctx.emit('Reshape', [x, shape]);
  },
  backward: ({ grad, args: [x] }) => [reshape(grad, [...x.shape])],
});
