import { defineSimpleUnaryOp } from './helpers/elementwise.js';
import { mul } from './mul.js';
import { sub } from './sub.js';

/** d sigmoid = s * (1 - s), from the output. */
export const sigmoid = defineSimpleUnaryOp('sigmoid', 'Sigmoid', ({ grad, output }) =>
  mul(grad, mul(output, sub(1, output))),
);
