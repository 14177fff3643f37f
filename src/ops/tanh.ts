import { defineSimpleUnaryOp } from './helpers/elementwise.js';
import { mul } from './mul.js';
import { sub } from './sub.js';

export const tanh = defineSimpleUnaryOp('tanh', 'Tanh', ({ grad, output }) => mul(grad, sub(1, mul(output, output))));
