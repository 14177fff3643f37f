import { normalizeDim } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

/**
 * The index of the largest value along `dim` (int64; the first one on ties), as `torch.argmax`.
 * Its result is an index, so it has no gradient.
 * @example
 * F.argmax(tensor([[1, 5, 2]]), 1); // tensor([1])
 */
export const argmax = defineOp({
  name: 'argmax',
  infer: (x: TensorMeta, dim: number, keepdim: boolean = false): TensorMeta => {
    expectTensor('argmax', 'input', x);
    const axis = normalizeDim(dim, x.shape.length, 'argmax');
    const shape = x.shape.flatMap((d, i) => (i !== axis ? [d] : keepdim ? [1] : []));
    return { dtype: 'int64', shape };
  },
  lower: (ctx, x, dim, keepdim = false) =>
    ctx.emit('ArgMax', [x], { axis: normalizeDim(dim, x.shape.length, 'argmax'), keepdims: keepdim ? 1 : 0 }),
});
