import { defineSimpleUnaryOp } from './helpers/elementwise.js';

export const sqrt = defineSimpleUnaryOp('sqrt', 'Sqrt');
