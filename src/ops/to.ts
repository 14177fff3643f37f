import { type DType, isDType, isFloating } from '../tensor/dtype.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';
import { ONNX_TYPE_CODE } from '../runtime/onnx-model.js';

function target(dtype: unknown): DType {
  if (!isDType(dtype)) throw new TypeError(`[to] unknown dtype ${JSON.stringify(dtype)}`);
  return dtype;
}

/** Converts to another dtype, as `Tensor.to(dtype)`. */
export const to = defineOp({
  name: 'to',
  infer: (x: TensorMeta, dtype: DType): TensorMeta => {
    expectTensor('to', 'input', x);
    return { dtype: target(dtype), shape: x.shape };
  },
  lower: (ctx, x, dtype) => ctx.emit('Cast', [x], { to: ONNX_TYPE_CODE[target(dtype)] }),
  // The gradient goes back in the input's dtype; integer and boolean results carry none.
  backward: ({ grad, args: [x], output }): ArgumentGradients => [
    isFloating(output.dtype) ? to(grad, x.dtype) : null,
    null,
  ],
});
