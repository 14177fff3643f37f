import { defineSimpleUnaryOp } from './helpers/elementwise.js';

export const sigmoid = defineSimpleUnaryOp('sigmoid', 'Sigmoid');
