import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import { expectDType, expectTensor, isMeta } from './helpers/checks.js';
import { type Operand, inferBinary, lowerOperands } from './helpers/elementwise.js';
import { operandGrad, sumToShape } from './helpers/gradients.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';

/** Elements of `a` where `condition` holds, of `b` elsewhere, with broadcasting. */
export const where = defineOp({
  name: 'where',
  infer: (condition: TensorMeta, a: Operand, b: Operand): TensorMeta => {
    expectTensor('where', 'condition', condition);
    expectDType('where', 'condition', condition, ['bool']);
    const values = inferBinary('where', a, b);
    return { dtype: values.dtype, shape: broadcastShapes(condition.shape, values.shape, 'where') };
  },
  lower: (ctx, condition, a, b) => ctx.emit('Where', [condition, ...lowerOperands(ctx, a, b)]),
  // The condition is boolean: no gradient.
  backward: ({ grad, args: [condition, a, b], needs }): ArgumentGradients => [
    null,
    operandGrad(a, needs[1], (): Tensor => where(condition, grad, 0)),
    operandGrad(b, needs[2], (): Tensor => where(condition, 0, grad)),
  ],
});

/** `x` with `value` where `mask` is true, as `Tensor.masked_fill`. */
export const maskedFill = defineOp({
  name: 'masked_fill',
  infer: (x: TensorMeta, mask: TensorMeta, value: number): TensorMeta => {
    expectTensor('masked_fill', 'input', x);
    expectTensor('masked_fill', 'mask', mask);
    expectDType('masked_fill', 'mask', mask, ['bool']);
    if (typeof value !== 'number' && !isMeta(value)) throw new TypeError('[masked_fill] value must be a number');
    return { dtype: x.dtype, shape: broadcastShapes(x.shape, mask.shape, 'masked_fill') };
  },
  lower: (ctx, x, mask, value) => ctx.emit('Where', [mask, ctx.constant(value, x.dtype), x]),
  backward: ({ grad, args: [x, mask] }): ArgumentGradients => [sumToShape(where(mask, 0, grad), x.shape), null, null],
});
