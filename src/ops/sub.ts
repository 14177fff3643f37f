import { defineBinaryOp } from './helpers/elementwise.js';
import { neg } from './neg.js';

/** Elementwise with broadcasting; on two numbers (traced sizes when run) plain JS arithmetic. */
export const sub = defineBinaryOp(
  'sub',
  'Sub',
  (a, b) => a - b,
  ({ grad }) => [() => grad, () => neg(grad)],
);
