import { defineSimpleUnaryOp } from './helpers/elementwise.js';

/** max(x, 0), elementwise. */
export const relu = defineSimpleUnaryOp('relu', 'Relu');
