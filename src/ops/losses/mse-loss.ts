import type { Tensor } from '../../tensor/tensor.js';
import { expectFloat, expectTensor } from '../helpers/checks.js';
import { mul } from '../mul.js';
import { sub } from '../sub.js';
import { type Reduction, checkReduction, reduce } from './reduction.js';

/**
 * Squared error (input - target)², as `F.mse_loss`; the two broadcast.
 * @example
 * const loss = F.mseLoss(tensor([1, 2, 3]), tensor([1, 2, 5])); // (0 + 0 + 4) / 3
 */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  expectFloat('mse_loss', 'input', expectTensor('mse_loss', 'input', input));
  expectTensor('mse_loss', 'target', target);
  const reduction = checkReduction('mse_loss', options.reduction ?? 'mean');
  const difference = sub(input, target);
  return reduce(mul(difference, difference), reduction);
}
