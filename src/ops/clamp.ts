import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

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
});
