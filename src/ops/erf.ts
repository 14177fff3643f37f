import { defineSimpleUnaryOp } from './helpers/elementwise.js';

export const erf = defineSimpleUnaryOp('erf', 'Erf');
