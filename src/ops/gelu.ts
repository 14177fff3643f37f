import type { TensorMeta } from '../tensor/tensor.js';
import { expectFloat, expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

export interface GeluOptions {
  /** 'none' (exact, with erf) or 'tanh' (the tanh approximation), as PyTorch's `approximate`. */
  approximate?: 'none' | 'tanh';
}

/** Gaussian error linear unit. Opset 17 has no Gelu node, so it is built from Erf or Tanh. */
export const gelu = defineOp({
  name: 'gelu',
  infer: (x: TensorMeta, options: GeluOptions = {}): TensorMeta => {
    expectTensor('gelu', 'input', x);
    expectFloat('gelu', 'input', x);
    if (options.approximate !== undefined && options.approximate !== 'none' && options.approximate !== 'tanh') {
      throw new RangeError(`[gelu] approximate must be 'none' or 'tanh', got ${String(options.approximate)}`);
    }
    return { dtype: x.dtype, shape: x.shape };
  },
  lower: (ctx, x, options = {}) => {
    const c = (v: number): string => ctx.constant(v, x.dtype);
    let inner: string;
    if (options.approximate === 'tanh') {
      // tanh(sqrt(2/pi) * (x + 0.044715 x^3))
      const cube = ctx.emit('Mul', [x, ctx.emit('Mul', [x, x])]);
      const sum = ctx.emit('Add', [x, ctx.emit('Mul', [cube, c(0.044715)])]);
      inner = ctx.emit('Tanh', [ctx.emit('Mul', [sum, c(Math.sqrt(2 / Math.PI))])]);
    } else {
      inner = ctx.emit('Erf', [ctx.emit('Mul', [x, c(Math.SQRT1_2)])]);
    }
    // 0.5 * x * (1 + inner)
    return ctx.emit('Mul', [ctx.emit('Mul', [x, c(0.5)]), ctx.emit('Add', [inner, c(1)])]);
  },
});
