import { defineBinaryOp } from './helpers/elementwise.js';

/** Elementwise with broadcasting; on two numbers (traced sizes when run) plain JS arithmetic. */
export const maximum = defineBinaryOp('maximum', 'Max', (a, b) => Math.max(a, b));
