import { formatShape, normalizeDim } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';

function permutation(op: string, rank: number, dims: readonly number[]): number[] {
  const perm = dims.map((d) => normalizeDim(d, rank, op));
  if (perm.length !== rank || new Set(perm).size !== rank) {
    throw new RangeError(`[${op}] dims ${formatShape(dims)} is not a permutation of ${rank} dimensions`);
  }
  return perm;
}

/** Reorders dims, as `Tensor.permute`. */
export const permute = defineOp({
  name: 'permute',
  infer: (x: TensorMeta, dims: readonly number[]): TensorMeta => {
    expectTensor('permute', 'input', x);
    const perm = permutation('permute', x.shape.length, dims);
    return { dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) };
  },
  lower: (ctx, x, dims) => ctx.emit('Transpose', [x], { perm: permutation('permute', x.shape.length, dims) }),
  backward: ({ grad, args: [x, dims] }): ArgumentGradients => {
    const inverse: number[] = [];
    permutation('permute', x.shape.length, dims).forEach((p, i) => (inverse[p] = i));
    return [permute(grad, inverse)];
  },
});

function swap(rank: number, dim0: number, dim1: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  const a = normalizeDim(dim0, rank, 'transpose');
  const b = normalizeDim(dim1, rank, 'transpose');
  [perm[a], perm[b]] = [perm[b]!, perm[a]!];
  return perm;
}

/** Swaps two dims, as `torch.transpose`. */
export const transpose = defineOp({
  name: 'transpose',
  infer: (x: TensorMeta, dim0: number, dim1: number): TensorMeta => {
    expectTensor('transpose', 'input', x);
    return { dtype: x.dtype, shape: swap(x.shape.length, dim0, dim1).map((p) => x.shape[p]!) };
  },
  lower: (ctx, x, dim0, dim1) => ctx.emit('Transpose', [x], { perm: swap(x.shape.length, dim0, dim1) }),
  backward: ({ grad, args: [, dim0, dim1] }): ArgumentGradients => [transpose(grad, dim0, dim1)],
});

/** `Tensor.contiguous`: tensors here are always contiguous, so the value itself. */
export const contiguous = defineOp({
  name: 'contiguous',
  view: true,
  infer: (x: TensorMeta): TensorMeta => expectTensor('contiguous', 'input', x),
  lower: (ctx, x) => ctx.emit('Identity', [x]),
  backward: ({ grad }): ArgumentGradients => [grad],
});
