import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { resolveShape } from './helpers/sizes.js';
import type { LoweringContext, Value } from './lowering.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';

function inferReshape(op: string, x: TensorMeta, shape: readonly number[]): TensorMeta {
  expectTensor(op, 'input', x);
  return { dtype: x.dtype, shape: resolveShape(op, x.shape, shape) };
}

// Sizes may be traced values (x.shape[0]) when exported: int64s takes numbers and values alike.
const lowerReshape = (ctx: LoweringContext, x: Value, shape: readonly (number | Value)[]): string =>
  ctx.emit('Reshape', [x, ctx.int64s(shape)]);

/**
 * The same data in a new shape; one size may be -1, as `torch.reshape`.
 * @example
 * F.reshape(arange(6), [2, -1]); // shape [2, 3]
 */
export const reshape = defineOp({
  name: 'reshape',
  view: true,
  infer: (x: TensorMeta, shape: readonly number[]) => inferReshape('reshape', x, shape),
  lower: lowerReshape,
  backward: ({ grad, args: [x] }): ArgumentGradients => [reshape(grad, [...x.shape])],
});

/** `Tensor.view`: as `reshape` (tensors here are always contiguous). */
export const view = defineOp({
  name: 'view',
  view: true,
  infer: (x: TensorMeta, shape: readonly number[]) => inferReshape('view', x, shape),
  lower: lowerReshape,
  backward: ({ grad, args: [x] }): ArgumentGradients => [reshape(grad, [...x.shape])],
});
