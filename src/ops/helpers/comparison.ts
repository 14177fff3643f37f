/** Comparison ops: broadcasting like arithmetic, bool results. */
import type { TensorMeta } from '../../tensor/tensor.js';
import { type Operand, inferBinary, lowerOperands } from './elementwise.js';
import { defineOp } from '../registry.js';

export function defineComparisonOp(name: string, onnxOp: string, negate = false) {
  return defineOp({
    name,
    infer: (a: Operand, b: Operand): TensorMeta => ({ dtype: 'bool', shape: inferBinary(name, a, b).shape }),
    lower: (ctx, a, b) => {
      const result = ctx.emit(onnxOp, lowerOperands(ctx, a, b));
      return negate ? ctx.emit('Not', [result]) : result;
    },
  });
}
