import { defineSimpleUnaryOp } from './helpers/elementwise.js';
import { mul } from './mul.js';

export const exp = defineSimpleUnaryOp('exp', 'Exp', ({ grad, output }) => mul(grad, output));
