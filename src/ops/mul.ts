import { defineBinaryOp } from './helpers/elementwise.js';

/** Elementwise with broadcasting; on two numbers (traced sizes when run) plain JS arithmetic. */
export const mul = defineBinaryOp(
  'mul',
  'Mul',
  (a, b) => a * b,
  ({ grad, args: [a, b] }) => [() => mul(grad, b), () => mul(grad, a)],
);
