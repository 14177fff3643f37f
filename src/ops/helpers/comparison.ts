/** Comparison ops: broadcasting like arithmetic, bool results. */
import type { TensorMeta } from '../../tensor/tensor.js';
import { type Operand, inferBinary, lowerOperands } from './elementwise.js';
import { defineOp } from '../registry.js';

/**
 * `scalar`, when given, compares two plain numbers (sizes, in traced code such as ViT's
 * `h == image_size`) in JS; the result is 1 or 0, as `OpSpec.scalar` gives numbers.
 */
export function defineComparisonOp(
  name: string,
  onnxOp: string,
  negate = false,
  scalar?: (a: number, b: number) => boolean,
) {
  return defineOp({
    name,
    ...(scalar === undefined ? {} : { scalar: (a: number, b: number) => Number(scalar(a, b)) }),
    infer: (a: Operand, b: Operand): TensorMeta => ({ dtype: 'bool', shape: inferBinary(name, a, b).shape }),
    lower: (ctx, a, b) => {
      const result = ctx.emit(onnxOp, lowerOperands(ctx, a, b));
      return negate ? ctx.emit('Not', [result]) : result;
    },
  });
}
