/** The gradient rule shared by maximum and minimum. */
import type { Tensor } from '../../tensor/tensor.js';
import { eq } from '../eq.js';
import { mul } from '../mul.js';
import { where } from '../where.js';

type Operand = Tensor | number;

/**
 * The gradient of operand `self` of an elementwise max (or min) with `other`: all of it where
 * `self` wins (`wins(self, other)` is true), half where they tie, as PyTorch splits ties.
 */
export function extremumGrad(
  grad: Tensor,
  self: Operand,
  other: Operand,
  wins: (a: Operand, b: Operand) => Tensor,
): Tensor {
  return where(wins(self, other), grad, where(eq(self, other), mul(grad, 0.5), 0));
}
