import { broadcastShapes, formatShape } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectRank, expectSameDType, expectTensor } from './helpers/checks.js';
import { sumToShape } from './helpers/gradients.js';
import type { ArgumentGradients, BackwardContext } from './op.js';
import { transpose } from './permute.js';
import { defineOp } from './registry.js';
import { reshape } from './reshape.js';

function inferMatmul(op: string, a: TensorMeta, b: TensorMeta): TensorMeta {
  expectTensor(op, 'input', a);
  expectTensor(op, 'other', b);
  expectSameDType(op, { input: a, other: b });
  if (a.shape.length === 0 || b.shape.length === 0)
    throw new RangeError(`[${op}] both arguments need at least 1 dimension`);
  const a2 = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const b2 = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  if (a2[a2.length - 1] !== b2[b2.length - 2]) {
    throw new RangeError(`[${op}] shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} cannot be multiplied`);
  }
  const batch = broadcastShapes(a2.slice(0, -2), b2.slice(0, -2), op);
  const shape = [...batch];
  if (a.shape.length > 1) shape.push(a2[a2.length - 2]!);
  if (b.shape.length > 1) shape.push(b2[b2.length - 1]!);
  return { dtype: a.dtype, shape };
}

/**
 * dA = dC B^T and dB = A^T dC, summed over the batch dims each operand was broadcast along. A
 * 1-D operand is a row (left) or column (right) vector, as in the forward.
 */
function matmulBackward({
  grad,
  args: [a, b],
  needs,
}: BackwardContext<[TensorMeta, TensorMeta], TensorMeta>): ArgumentGradients {
  const a2 = a.shape.length === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  const b2 = b.shape.length === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  const gradShape = [...grad.shape];
  if (a.shape.length === 1) gradShape.splice(gradShape.length - (b.shape.length === 1 ? 0 : 1), 0, 1);
  if (b.shape.length === 1) gradShape.push(1);
  const g = reshape(grad, gradShape);
  const ga = needs[0] ? sumToShape(matmul(g, transpose(b2, -1, -2)), a2.shape) : null;
  const gb = needs[1] ? sumToShape(matmul(transpose(a2, -1, -2), g), b2.shape) : null;
  return [
    ga === null || a2 === a ? ga : reshape(ga, [...a.shape]),
    gb === null || b2 === b ? gb : reshape(gb, [...b.shape]),
  ];
}

/** Matrix product with broadcasting, as `torch.matmul`. */
export const matmul = defineOp({
  name: 'matmul',
  infer: (a: TensorMeta, b: TensorMeta) => inferMatmul('matmul', a, b),
  lower: (ctx, a, b) => ctx.emit('MatMul', [a, b]),
  backward: matmulBackward,
});

/** Batched matrix product of two 3-D tensors, as `torch.bmm`. */
export const bmm = defineOp({
  name: 'bmm',
  infer: (a: TensorMeta, b: TensorMeta) => {
    expectRank('bmm', 'input', a, [3]);
    expectRank('bmm', 'mat2', b, [3]);
    if (a.shape[0] !== b.shape[0]) throw new RangeError(`[bmm] batch sizes differ: ${a.shape[0]} vs ${b.shape[0]}`);
    return inferMatmul('bmm', a, b);
  },
  lower: (ctx, a, b) => ctx.emit('MatMul', [a, b]),
  backward: matmulBackward,
});
