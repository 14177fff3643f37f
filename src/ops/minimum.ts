import { defineBinaryOp } from './helpers/elementwise.js';
import { extremumGrad } from './helpers/extremum.js';
import { lt } from './lt.js';

/** Elementwise with broadcasting; on two numbers (traced sizes when run) plain JS arithmetic. */
export const minimum = defineBinaryOp(
  'minimum',
  'Min',
  (a, b) => Math.min(a, b),
  ({ grad, args: [a, b] }) => [() => extremumGrad(grad, a, b, lt), () => extremumGrad(grad, b, a, lt)],
);
