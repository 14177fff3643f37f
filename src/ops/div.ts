import { isFloating } from '../tensor/dtype.js';
import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import type { LoweringContext, Value } from './lowering.js';
import type { ArgumentGradients } from './op.js';
import { type Operand, inferBinary, lowerOperands, withScalarOverload } from './helpers/elementwise.js';
import { operandGrad } from './helpers/gradients.js';
import { mul } from './mul.js';
import { neg } from './neg.js';
import { defineOp } from './registry.js';

export interface DivOptions {
  /** undefined: true division; 'trunc': round toward zero; 'floor': round down (Python's //). */
  roundingMode?: 'trunc' | 'floor';
}

function roundingMode(options: DivOptions): DivOptions['roundingMode'] {
  const mode = options.roundingMode;
  if (mode !== undefined && mode !== 'trunc' && mode !== 'floor') {
    throw new RangeError(`[div] roundingMode must be 'trunc' or 'floor', got ${String(mode)}`);
  }
  return mode;
}

function inferDiv(name: string, a: Operand, b: Operand, options: DivOptions): TensorMeta {
  const out = inferBinary(name, a, b);
  // True division of integers gives floats, as in PyTorch.
  return roundingMode(options) === undefined && !isFloating(out.dtype) ? { dtype: 'float32', shape: out.shape } : out;
}

/** Division computed in floating point, then rounded and cast back to the result dtype. */
export function lowerDiv(
  ctx: LoweringContext,
  a: Value | number,
  b: Value | number,
  options: DivOptions,
  out: TensorMeta,
): string {
  const [x, y] = lowerOperands(ctx, a, b);
  const mode = roundingMode(options);
  const asFloat = (name: string, dtype: TensorMeta['dtype']): string =>
    isFloating(dtype) ? name : ctx.emit('Cast', [name], { to: 1 });
  const operandType = typeof a === 'number' ? (b as Value).dtype : a.dtype;
  const quotient = ctx.emit('Div', [asFloat(x, operandType), asFloat(y, operandType)]);
  if (mode === undefined) return quotient;
  const rounded =
    mode === 'floor'
      ? ctx.emit('Floor', [quotient])
      : ctx.emit('Mul', [ctx.emit('Sign', [quotient]), ctx.emit('Floor', [ctx.emit('Abs', [quotient])])]);
  return isFloating(out.dtype)
    ? rounded
    : ctx.cast({ kind: 'value', name: rounded, dtype: 'float32', shape: [] }, out.dtype);
}

/**
 * a / b with broadcasting, as `torch.div`.
 * @example
 * F.div(tensor([7, -7]), 2, { roundingMode: 'floor' }); // [3, -4]
 */
export const div = withScalarOverload(
  defineOp({
    name: 'div',
    infer: (a: Operand, b: Operand, options: DivOptions = {}) => inferDiv('div', a, b, options),
    lower: (ctx, a, b, options = {}) => lowerDiv(ctx, a, b, options, inferLowered('div', a, b, options)),
    scalar: (a, b) => a / b,
    // Rounded quotients are piecewise constant: no gradient (PyTorch's would be all zeros).
    backward: ({ grad, args: [a, b, options = {}], output, needs }): ArgumentGradients =>
      options.roundingMode !== undefined
        ? [null, null, null]
        : [
            operandGrad(a, needs[0], (): Tensor => div(grad, b)),
            // d(a/b)/db = -a/b^2 = -out/b
            operandGrad(b, needs[1], () => neg(div(mul(grad, output), b))),
            null,
          ],
  }),
);

/** Output meta for lowered operands (Values carry dtype and shape too). */
export function inferLowered(name: string, a: Value | number, b: Value | number, options: DivOptions): TensorMeta {
  const meta = (v: Value | number): Operand => (typeof v === 'number' ? v : { dtype: v.dtype, shape: [] });
  return inferDiv(name, meta(a), meta(b), options);
}
