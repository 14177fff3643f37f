/**
 * Building blocks of backward rules, written with ops like the rules themselves, so that they
 * run eagerly and trace alike.
 */
import type { Shape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { reshape } from '../reshape.js';
import { sum } from '../sum.js';

/**
 * Sums a gradient down to the shape of the operand it belongs to, undoing broadcasting: leading
 * dims are summed away and dims of size 1 in `shape` are summed over.
 */
export function sumToShape(grad: Tensor, shape: Shape): Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const lead = grad.shape.length - shape.length;
  const axes: number[] = [];
  grad.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  const reduced = axes.length === 0 ? grad : sum(grad, axes, true);
  return reshape(reduced, [...shape]);
}

/** The gradient of a binary op's operand, or null when the operand is a number or not wanted. */
export function operandGrad(operand: unknown, wanted: boolean | undefined, grad: () => Tensor): Tensor | null {
  if (wanted !== true || typeof operand === 'number') return null;
  return sumToShape(grad(), (operand as Tensor).shape);
}
