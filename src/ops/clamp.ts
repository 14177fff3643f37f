import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { gt } from './gt.js';
import { lt } from './lt.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';
import { where } from './where.js';

export interface ClampOptions {
  min?: number | null;
  max?: number | null;
}

/** Limits values to [min, max]; either bound may be omitted, not both. */
export const clamp = defineOp({
  name: 'clamp',
  infer: (x: TensorMeta, options: ClampOptions = {}): TensorMeta => {
    expectTensor('clamp', 'input', x);
    if ((options.min ?? null) === null && (options.max ?? null) === null) {
      throw new TypeError('[clamp] give at least one of min and max');
    }
    return { dtype: x.dtype, shape: x.shape };
  },
  lower: (ctx, x, options = {}) => {
    const bound = (v: number | null | undefined): string =>
      v === null || v === undefined ? '' : ctx.constant(v, x.dtype);
    return ctx.emit('Clip', [x, bound(options.min), bound(options.max)]);
  },
  // As PyTorch's: the gradient passes where min <= x <= max (bounds included).
  backward: ({ grad, args: [x, options = {}] }): ArgumentGradients => {
    const { min = null, max = null } = options;
    const belowMax = max === null ? grad : where(gt(x, max), 0, grad);
    return [min === null ? belowMax : where(lt(x, min), 0, belowMax), null];
  },
});
