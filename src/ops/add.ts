import { defineBinaryOp } from './helpers/elementwise.js';

/** a + b with broadcasting; on two numbers (traced sizes at run time) it is plain addition. */
export const add = defineBinaryOp(
  'add',
  'Add',
  (a, b) => a + b,
  ({ grad }) => [() => grad, () => grad],
);
