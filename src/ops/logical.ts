/**
 * Logical ops, as `torch.logical_and/or/not`: any dtype is read as "non-zero is true" and the
 * result is bool. Boolean results carry no gradient.
 */
import { broadcastShapes } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import type { LoweringContext, Value } from './lowering.js';
import { defineOp } from './registry.js';

function asBool(ctx: LoweringContext, x: Value): string {
  return ctx.cast(x, 'bool');
}

function defineLogicalBinaryOp(name: string, onnxOp: 'And' | 'Or') {
  return defineOp({
    name,
    infer: (a: TensorMeta, b: TensorMeta): TensorMeta => {
      expectTensor(name, 'input', a);
      expectTensor(name, 'other', b);
      return { dtype: 'bool', shape: broadcastShapes(a.shape, b.shape, name) };
    },
    lower: (ctx, a, b) => ctx.emit(onnxOp, [asBool(ctx, a), asBool(ctx, b)]),
    differentiable: false,
  });
}

/**
 * Element-wise AND, broadcasting.
 * @example
 * F.logicalAnd(tensor([true, true]), tensor([true, false])); // [true, false]
 */
export const logicalAnd = defineLogicalBinaryOp('logical_and', 'And');

/**
 * Element-wise OR, broadcasting.
 * @example
 * F.logicalOr(tensor([true, false]), tensor([false, false])); // [true, false]
 */
export const logicalOr = defineLogicalBinaryOp('logical_or', 'Or');

/**
 * Element-wise NOT.
 * @example
 * F.logicalNot(tensor([true, false])); // [false, true]
 */
export const logicalNot = defineOp({
  name: 'logical_not',
  infer: (x: TensorMeta): TensorMeta => {
    expectTensor('logical_not', 'input', x);
    return { dtype: 'bool', shape: x.shape };
  },
  lower: (ctx, x) => ctx.emit('Not', [asBool(ctx, x)]),
  differentiable: false,
});
