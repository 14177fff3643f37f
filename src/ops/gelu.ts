import type { TensorMeta } from '../tensor/tensor.js';
import type { Tensor } from '../tensor/tensor.js';
import { add } from './add.js';
import { erf } from './erf.js';
import { exp } from './exp.js';
import { expectFloat, expectTensor } from './helpers/checks.js';
import { mul } from './mul.js';
import { type ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';
import { sub } from './sub.js';
import { tanh } from './tanh.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const KAPPA = 0.044715;

/** d/dx of x * Phi(x) = Phi(x) + x * phi(x), with the normal cdf Phi and density phi. */
function exactSlope(x: Tensor): Tensor {
  const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
  const density = mul(exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return add(cdf, mul(x, density));
}

/** d/dx of 0.5 x (1 + t), t = tanh(k (x + KAPPA x^3)): 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 KAPPA x^2). */
function tanhSlope(x: Tensor): Tensor {
  const x2 = mul(x, x);
  const t = tanh(mul(add(x, mul(mul(x2, x), KAPPA)), SQRT_2_OVER_PI));
  const inner = mul(add(mul(x2, 3 * KAPPA), 1), SQRT_2_OVER_PI);
  return add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, mul(t, t))), inner));
}

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
      inner = ctx.emit('Erf', [ctx.emit('Div', [x, c(Math.SQRT2)])]);
    }
    // (x * (1 + inner)) * 0.5: the order torch.onnx writes, which ONNX Runtime fuses into one Gelu
    // kernel (BiasGelu after a linear layer); x * 0.5 first is not recognised.
    return ctx.emit('Mul', [ctx.emit('Mul', [x, ctx.emit('Add', [inner, c(1)])]), c(0.5)]);
  },
  backward: ({ grad, args: [x, options = {}] }): ArgumentGradients => [
    mul(grad, options.approximate === 'tanh' ? tanhSlope(x) : exactSlope(x)),
    null,
  ],
});
