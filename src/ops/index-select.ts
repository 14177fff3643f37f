import { formatShape, normalizeDim } from '../tensor/shape.js';
import { Tensor, type TensorMeta } from '../tensor/tensor.js';
import { expand } from './expand.js';
import { expectDType, expectTensor } from './helpers/checks.js';
import { newZeros } from './new-zeros.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';
import { reshape } from './reshape.js';
import { scatterAdd } from './scatter-add.js';

/**
 * Eager calls check the positions before ONNX Runtime's Gather, which would accept negative ones
 * (torch's index_select does not) and name neither the op nor the fix.
 */
function checkPositions(index: Tensor<'int64'>, size: number, axis: number): void {
  for (const position of index.data) {
    if (position < 0n || position >= BigInt(size)) {
      throw new RangeError(
        `[index_select] index out of range in self: index ${position} for dimension ${axis} of size ${size}; ` +
          `indices must be in [0, ${size})`,
      );
    }
  }
}

/**
 * The slices of `input` at the positions `index` gives along `dim`, as `torch.index_select`; the
 * result has index.length elements along dim. Its gradient is added back at those positions
 * (repeated positions accumulate).
 * @example
 * F.indexSelect(tensor([[1, 2], [3, 4], [5, 6]]), 0, tensor([2n, 0n])); // [[5, 6], [1, 2]]
 */
export const indexSelect = defineOp({
  name: 'index_select',
  infer: (input: TensorMeta, dim: number, index: TensorMeta): TensorMeta => {
    expectTensor('index_select', 'input', input);
    expectTensor('index_select', 'index', index);
    expectDType('index_select', 'index', index, ['int64']);
    if (index.shape.length > 1) {
      throw new RangeError(
        `[index_select] index is supposed to be a vector, got shape ${formatShape(index.shape)}; flatten it first`,
      );
    }
    if (input.shape.length === 0) {
      throw new RangeError('[index_select] input must have at least one dim, got a 0-D tensor; use x.reshape([1])');
    }
    const axis = normalizeDim(dim, input.shape.length, 'index_select');
    const size = input.shape[axis]!;
    if (index instanceof Tensor) checkPositions(index as Tensor<'int64'>, size, axis);
    const count = index.shape.length === 0 ? 1 : index.shape[0]!;
    return { dtype: input.dtype, shape: input.shape.map((d, i) => (i === axis ? count : d)) };
  },
  lower: (ctx, input, dim, index) => {
    const positions = index.shape.length === 0 ? ctx.emit('Unsqueeze', [index, ctx.int64s([0])]) : index.name;
    return ctx.emit('Gather', [input, positions], { axis: normalizeDim(dim, input.shape.length, 'index_select') });
  },
  backward: ({ grad, args: [input, dim, index] }): ArgumentGradients => {
    const axis = normalizeDim(dim, input.shape.length, 'index_select');
    const along = grad.shape.map((d, i) => (i === axis ? d : 1));
    const positions = expand(reshape(index, along), [...grad.shape]);
    return [scatterAdd(newZeros(grad, [...input.shape]), axis, positions, grad), null, null];
  },
});
