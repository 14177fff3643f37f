import { defineSimpleUnaryOp } from './helpers/elementwise.js';
import { exp } from './exp.js';
import { mul } from './mul.js';

/** d/dx erf(x) = 2/sqrt(pi) * exp(-x^2). */
export const erf = defineSimpleUnaryOp('erf', 'Erf', ({ grad, input }) =>
  mul(grad, mul(exp(mul(mul(input, input), -1)), 2 / Math.sqrt(Math.PI))),
);
