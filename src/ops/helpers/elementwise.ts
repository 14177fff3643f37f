/**
 * Builders for the two common op shapes: a unary op that keeps dtype and shape, and a binary op
 * that broadcasts two tensors (or a tensor and a number) with PyTorch's type promotion.
 */
import type { AttributeValue } from '../../runtime/onnx-model.js';
import { promoteTypes } from '../../tensor/dtype.js';
import { broadcastShapes } from '../../tensor/shape.js';
import type { TensorMeta } from '../../tensor/tensor.js';
import type { LoweringContext, Value } from '../lowering.js';
import type { ArgumentGradients, BackwardContext, Op } from '../op.js';
import type { Tensor } from '../../tensor/tensor.js';
import { operandGrad } from './gradients.js';
import { defineOp } from '../registry.js';
import { expectFloat, expectTensor, isMeta } from './checks.js';

/** A unary op's derivative: the input's gradient from the output's (`grad`), input and output. */
export type UnaryBackward = (r: { grad: Tensor; input: Tensor; output: Tensor }) => Tensor;

export function defineUnaryOp(
  name: string,
  lower: (ctx: LoweringContext, x: Value) => string,
  options: { floatOnly?: boolean; backward?: UnaryBackward } = {},
): Op<[TensorMeta], TensorMeta> {
  const rule = options.backward;
  return defineOp({
    name,
    infer: (x: TensorMeta) => {
      expectTensor(name, 'input', x);
      if (options.floatOnly === true) expectFloat(name, 'input', x);
      return { dtype: x.dtype, shape: x.shape };
    },
    lower,
    ...(rule === undefined
      ? {}
      : { backward: ({ grad, args: [input], output }): ArgumentGradients => [rule({ grad, input, output })] }),
  });
}

/** A unary op that is exactly one ONNX node. */
export function defineSimpleUnaryOp(
  name: string,
  onnxOp: string,
  backward: UnaryBackward,
  attributes?: Record<string, AttributeValue>,
) {
  return defineUnaryOp(name, (ctx, x) => ctx.emit(onnxOp, [x], attributes), { floatOnly: true, backward });
}

export type Operand = TensorMeta | number;

/** Output meta of a broadcasting binary op; a number operand takes the tensor's dtype, as in PyTorch. */
export function inferBinary(name: string, a: Operand, b: Operand): TensorMeta {
  if (!isMeta(a) && !isMeta(b)) throw new TypeError(`[${name}] needs at least one Tensor argument`);
  for (const [label, x] of [
    ['input', a],
    ['other', b],
  ] as const) {
    if (!isMeta(x) && typeof x !== 'number') expectTensor(name, label, x);
  }
  if (isMeta(a) && isMeta(b))
    return { dtype: promoteTypes(a.dtype, b.dtype), shape: broadcastShapes(a.shape, b.shape, name) };
  const t = (isMeta(a) ? a : b) as TensorMeta;
  return { dtype: t.dtype, shape: t.shape };
}

/** The operands of a binary op as ONNX inputs of one common dtype. */
export function lowerOperands(ctx: LoweringContext, a: Value | number, b: Value | number): [string, string] {
  const dtype =
    typeof a !== 'number' && typeof b !== 'number'
      ? promoteTypes(a.dtype, b.dtype)
      : typeof a !== 'number'
        ? a.dtype
        : (b as Value).dtype;
  const operand = (x: Value | number): string => (typeof x === 'number' ? ctx.constant(x, dtype) : ctx.cast(x, dtype));
  return [operand(a), operand(b)];
}

/** On two numbers a binary op is plain arithmetic (traced sizes when run), and typed so. */
export type ScalarOverload = (a: number, b: number) => number;

/**
 * A broadcasting binary op. `backward` gives the gradient of each operand at the output's shape,
 * as thunks (only wanted ones run); broadcasting is undone here, and number operands get none.
 */
export function defineBinaryOp(
  name: string,
  onnxOp: string,
  scalar: (a: number, b: number) => number,
  backward?: (ctx: BackwardContext<[Operand, Operand], TensorMeta>) => readonly [() => Tensor, () => Tensor],
): ScalarOverload & Op<[Operand, Operand], TensorMeta> {
  return withScalarOverload(
    defineOp({
      name,
      infer: (a: Operand, b: Operand) => inferBinary(name, a, b),
      lower: (ctx, a, b) => ctx.emit(onnxOp, lowerOperands(ctx, a, b)),
      scalar,
      ...(backward === undefined
        ? {}
        : {
            backward: (ctx: BackwardContext<[Operand, Operand], TensorMeta>): ArgumentGradients => {
              const [ga, gb] = backward(ctx);
              return [operandGrad(ctx.args[0], ctx.needs[0], ga), operandGrad(ctx.args[1], ctx.needs[1], gb)];
            },
          }),
    }),
  );
}

/** Adds the number-only call signature (first, so that it wins overload resolution). */
export function withScalarOverload<T>(op: T): ScalarOverload & T {
  return op as ScalarOverload & T;
}
