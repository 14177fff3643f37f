/**
 * Rounding to integers, as `torch.floor`, `torch.ceil` and `torch.round`. They are step functions:
 * their gradient is zero everywhere, as PyTorch's.
 */
import { defineSimpleUnaryOp } from './helpers/elementwise.js';
import type { UnaryBackward } from './helpers/elementwise.js';
import { newZeros } from './new-zeros.js';

const zero: UnaryBackward = ({ grad }) => newZeros(grad, [...grad.shape]);

/**
 * The largest integer not above each element.
 * @example
 * F.floor(tensor([1.5, -0.5])); // [1, -1]
 */
export const floor = defineSimpleUnaryOp('floor', 'Floor', zero);

/**
 * The smallest integer not below each element.
 * @example
 * F.ceil(tensor([1.5, -0.5])); // [2, -0]
 */
export const ceil = defineSimpleUnaryOp('ceil', 'Ceil', zero);

/**
 * The nearest integer, halves to even (as torch.round and ONNX's Round).
 * @example
 * F.round(tensor([0.5, 1.5, -2.5, 2.4])); // [0, 2, -2, 2]
 */
export const round = defineSimpleUnaryOp('round', 'Round', zero);
