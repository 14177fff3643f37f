import { defineSimpleUnaryOp } from './helpers/elementwise.js';
import { gt } from './gt.js';
import { where } from './where.js';

/** max(x, 0), elementwise. Its gradient is 0 at x <= 0, as PyTorch's. */
export const relu = defineSimpleUnaryOp('relu', 'Relu', ({ grad, output }) => where(gt(output, 0), grad, 0));
