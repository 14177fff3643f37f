import { defineSimpleUnaryOp } from './helpers/elementwise.js';
import { newZeros } from './new-zeros.js';

/**
 * The largest integer not above each element, as `torch.floor`. It is a step function: its
 * gradient is zero everywhere, as PyTorch's.
 * @example
 * F.floor(tensor([1.5, -0.5])); // [1, -1]
 */
export const floor = defineSimpleUnaryOp('floor', 'Floor', ({ grad }) => newZeros(grad, [...grad.shape]));
