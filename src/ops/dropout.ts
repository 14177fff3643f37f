import type { TensorMeta } from '../tensor/tensor.js';
import { expectFloat, expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

export interface DropoutOptions {
  /** Probability of zeroing an element (default 0.5). */
  p?: number;
  /** Dropout applies only in training (default true, as `F.dropout`). */
  training?: boolean;
}

function probability(options: DropoutOptions): number {
  const p = options.p ?? 0.5;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1))
    throw new RangeError(`[dropout] p must be in [0, 1], got ${String(p)}`);
  return p;
}

/**
 * Zeroes elements with probability p and scales the rest by 1/(1-p) in training; identity
 * otherwise. p = 1 gives zeros, as in PyTorch.
 */
export const dropout = defineOp({
  name: 'dropout',
  infer: (x: TensorMeta, options: DropoutOptions = {}): TensorMeta => {
    expectTensor('dropout', 'input', x);
    expectFloat('dropout', 'input', x);
    probability(options);
    return { dtype: x.dtype, shape: x.shape };
  },
  lower: (ctx, x, options = {}) => {
    const p = probability(options);
    if (options.training === false || p === 0) return ctx.emit('Identity', [x]);
    if (p === 1) {
      const zero = { tensor: { name: 'value', type: x.dtype, dims: [1], raw: new Uint8Array(4) } };
      return ctx.emit('ConstantOfShape', [ctx.emit('Shape', [x])], { value: zero });
    }
    const ratio = ctx.constant(p, 'float32');
    const training = ctx.constant(1, 'bool');
    return ctx.emitMulti('Dropout', [x, ratio, training], 2)[0]!;
  },
});
