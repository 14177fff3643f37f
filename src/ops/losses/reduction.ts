/** The `reduction` option every loss takes, as PyTorch's: 'none', 'mean' (default) or 'sum'. */
import type { Tensor } from '../../tensor/tensor.js';
import { mean } from '../mean.js';
import { sum } from '../sum.js';

export type Reduction = 'none' | 'mean' | 'sum';

/** Checks `reduction`, with PyTorch's wording. */
export function checkReduction(loss: string, reduction: unknown): Reduction {
  if (reduction !== 'none' && reduction !== 'mean' && reduction !== 'sum') {
    throw new RangeError(
      `[${loss}] ${JSON.stringify(reduction)} is not a valid value for reduction; use 'none', 'mean' or 'sum'`,
    );
  }
  return reduction;
}

/** The elementwise `loss` reduced as asked: unchanged, averaged over all elements, or summed. */
export function reduce(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return loss;
  return reduction === 'sum' ? sum(loss) : mean(loss);
}
