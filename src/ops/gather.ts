import { normalizeDim } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectDType, expectTensor } from './helpers/checks.js';
import { checkIndexShape } from './helpers/indexing.js';
import { newZeros } from './new-zeros.js';
import { defineOp } from './registry.js';
import { scatterAdd } from './scatter-add.js';

/**
 * Values of `input` at the positions `index` gives along `dim`, as `torch.gather(input, dim,
 * index)`: out[i][j] = input[i][index[i][j]] for dim 1 of a 2-D input. The result has the shape of
 * `index`.
 * @example
 * F.gather(tensor([[1, 2], [3, 4]]), 1, tensor([[1], [0]], { dtype: 'int64' })); // [[2], [3]]
 */
export const gather = defineOp({
  name: 'gather',
  infer: (input: TensorMeta, dim: number, index: TensorMeta): TensorMeta => {
    expectTensor('gather', 'input', input);
    expectTensor('gather', 'index', index);
    expectDType('gather', 'index', index, ['int64']);
    checkIndexShape('gather', input, index, normalizeDim(dim, input.shape.length, 'gather'));
    return { dtype: input.dtype, shape: [...index.shape] };
  },
  lower: (ctx, input, dim, index) =>
    ctx.emit('GatherElements', [input, index], { axis: normalizeDim(dim, input.shape.length, 'gather') }),
  backward: ({ grad, args: [input, dim, index] }) => [
    scatterAdd(newZeros(grad, [...input.shape]), dim, index, grad),
    null,
    null,
  ],
});
