/**
 * The derivative shared by batch, layer and group normalisation, with batch statistics: x is
 * standardised over some axes, x̂ = (x - mean) / sqrt(var + eps), and the gradient flows through
 * the mean and the (biased) variance as well as through x, as PyTorch's.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { add } from '../add.js';
import { mean } from '../mean.js';
import { mul } from '../mul.js';
import { pow } from '../pow.js';
import { sub } from '../sub.js';

export interface Standardized {
  /** (x - mean) * invstd. */
  xhat: Tensor;
  /** 1 / sqrt(var + eps), with the reduced axes kept (size 1). */
  invstd: Tensor;
}

/** x standardised over `axes` with its own mean and biased variance, as the forward computes it. */
export function standardize(x: Tensor, axes: readonly number[], eps: number): Standardized {
  const centered = sub(x, mean(x, axes, true));
  const invstd = pow(add(mean(mul(centered, centered), axes, true), eps), -0.5);
  return { xhat: mul(centered, invstd), invstd };
}

/**
 * The gradient of x given `gradXhat`, that of x̂ = standardize(x):
 * invstd * (g - mean(g) - x̂ * mean(g * x̂)), means over `axes`.
 */
export function standardizeBackward(gradXhat: Tensor, { xhat, invstd }: Standardized, axes: readonly number[]): Tensor {
  const centered = sub(gradXhat, mean(gradXhat, axes, true));
  return mul(invstd, sub(centered, mul(xhat, mean(mul(gradXhat, xhat), axes, true))));
}
