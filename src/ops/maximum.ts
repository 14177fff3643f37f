import { defineBinaryOp } from './helpers/elementwise.js';
import { extremumGrad } from './helpers/extremum.js';
import { gt } from './gt.js';

/** Elementwise with broadcasting; on two numbers (traced sizes when run) plain JS arithmetic. */
export const maximum = defineBinaryOp(
  'maximum',
  'Max',
  (a, b) => Math.max(a, b),
  ({ grad, args: [a, b] }) => [() => extremumGrad(grad, a, b, gt), () => extremumGrad(grad, b, a, gt)],
);
