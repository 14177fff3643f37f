import { broadcastShapes, formatShape, numel } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { add } from './add.js';
import { expand } from './expand.js';
import { describe, expectDType, expectSameDType, expectTensor } from './helpers/checks.js';
import { sumToShape } from './helpers/gradients.js';
import { indexSelect } from './index-select.js';
import { mul } from './mul.js';
import { newZeros } from './new-zeros.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';
import { reshape } from './reshape.js';

/** The shape the indices broadcast to, and the shape `values` must broadcast to. */
function layout(input: TensorMeta, indices: readonly TensorMeta[]): { at: number[]; slots: number[] } {
  const at = indices.reduce<number[]>((s, i) => broadcastShapes(s, i.shape, 'index_put'), []);
  return { at, slots: [...at, ...input.shape.slice(indices.length)] };
}

/**
 * `input` with `values` written at the positions the index tensors give along its first dims (added
 * there with `accumulate`), as `torch.index_put(input, indices, values, accumulate)`: torch's
 * `x[i, j] = v` and `x.index_put_((i, j), v, accumulate=True)`. Indices are int64 positions within
 * each dim (not negative), broadcast together; `values` broadcasts to their shape followed by the
 * remaining dims of `input`. Without `accumulate`, a position given twice takes one of its values.
 * @example
 * F.indexPut(zeros([3]), [tensor([0n, 2n, 0n])], tensor([1, 2, 3]), true); // [4, 0, 2]
 */
export const indexPut = defineOp({
  name: 'index_put',
  infer: (input: TensorMeta, indices: readonly TensorMeta[], values: TensorMeta, accumulate = false): TensorMeta => {
    expectTensor('index_put', 'input', input);
    if (!Array.isArray(indices) || indices.length === 0) {
      throw new TypeError(`[index_put] indices must be a non-empty list of int64 tensors, got ${describe(indices)}`);
    }
    indices.forEach((i, n) => {
      expectTensor('index_put', `indices[${n}]`, i);
      expectDType('index_put', `indices[${n}]`, i, ['int64']);
    });
    if (indices.length > input.shape.length) {
      throw new RangeError(
        `[index_put] too many indices for tensor of dimension ${input.shape.length} (got ${indices.length})`,
      );
    }
    expectTensor('index_put', 'values', values);
    expectSameDType('index_put', { input, values });
    const { slots } = layout(input, indices);
    const fits =
      values.shape.length <= slots.length &&
      values.shape.every((d, i) => {
        const slot = slots[slots.length - values.shape.length + i]!;
        return d === slot || d === 1;
      });
    if (!fits) {
      throw new RangeError(
        `[index_put] shape mismatch: value tensor of shape ${formatShape(values.shape)} cannot be broadcast ` +
          `to indexing result of shape ${formatShape(slots)}`,
      );
    }
    if (typeof accumulate !== 'boolean') throw new TypeError(`[index_put] accumulate must be a boolean`);
    return { dtype: input.dtype, shape: input.shape };
  },
  lower: (ctx, input, indices, values, accumulate = false) => {
    // ScatterND takes the positions as one [..., q] tensor, and updates of the full slot shape.
    // The shape the indices broadcast to, as the shape of their sum.
    const atAll = ctx.emit('Shape', [
      indices.slice(1).reduce<string>((s, i) => ctx.emit('Add', [s, i]), indices[0]!.name),
    ]);
    const last = ctx.int64s([-1]);
    const columns = indices.map((i) => ctx.emit('Unsqueeze', [ctx.emit('Expand', [i, atAll]), last]));
    const positions = columns.length === 1 ? columns[0]! : ctx.emit('Concat', columns, { axis: -1 });
    const rest = ctx.emit('Shape', [input], { start: indices.length });
    const updates = ctx.emit('Expand', [values, ctx.emit('Concat', [atAll, rest], { axis: 0 })]);
    return ctx.emit('ScatterND', [input, positions, updates], { reduction: accumulate ? 'add' : 'none' });
  },
  backward: ({ grad, args: [input, indices, values, accumulate = false], needs }): ArgumentGradients => {
    const gradInput = accumulate ? grad : indexPut(grad, indices, newZeros(grad, []), false);
    if (needs[2] !== true) return [gradInput, null, null, null];
    // The gradient at the positions written: one Gather on the flattened leading dims.
    const q = indices.length;
    const { at } = layout(input, indices);
    const strides = input.shape.slice(0, q).map((_, d) => numel(input.shape.slice(d + 1, q)));
    const flat = indices.map((i, d) => mul(expand(i, at), strides[d]!)).reduce((a, b) => add(a, b));
    const rows = reshape(grad, [numel(input.shape.slice(0, q)), ...input.shape.slice(q)]);
    const read = reshape(indexSelect(rows, 0, reshape(flat, [-1])), layout(input, indices).slots);
    return [gradInput, null, sumToShape(read, values.shape), null];
  },
});
