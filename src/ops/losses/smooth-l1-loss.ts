import type { Tensor } from '../../tensor/tensor.js';
import { abs } from '../abs.js';
import { expectFloat, expectTensor } from '../helpers/checks.js';
import { lt } from '../lt.js';
import { mul } from '../mul.js';
import { sub } from '../sub.js';
import { where } from '../where.js';
import { type Reduction, checkReduction, reduce } from './reduction.js';

export interface SmoothL1LossOptions {
  /** Where the loss turns from quadratic to linear (default 1); 0 gives the L1 loss. */
  beta?: number;
  reduction?: Reduction;
}

/**
 * Huber-like loss, as `F.smooth_l1_loss`: 0.5·d²/beta where d = |input - target| < beta,
 * d - 0.5·beta elsewhere.
 */
export function smoothL1Loss(input: Tensor, target: Tensor, options: SmoothL1LossOptions = {}): Tensor {
  expectFloat('smooth_l1_loss', 'input', expectTensor('smooth_l1_loss', 'input', input));
  expectTensor('smooth_l1_loss', 'target', target);
  const reduction = checkReduction('smooth_l1_loss', options.reduction ?? 'mean');
  const beta = options.beta ?? 1;
  if (!(beta >= 0)) {
    throw new RangeError(`[smooth_l1_loss] smooth_l1_loss does not support negative values for beta, got ${beta}`);
  }
  const distance = abs(sub(input, target));
  if (beta === 0) return reduce(distance, reduction);
  // Both branches are finite everywhere, so `where` passes no NaN into the gradient.
  const loss = where(lt(distance, beta), mul(mul(distance, distance), 0.5 / beta), sub(distance, 0.5 * beta));
  return reduce(loss, reduction);
}
