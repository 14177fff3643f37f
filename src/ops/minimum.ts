import { defineBinaryOp } from './helpers/elementwise.js';

/** Elementwise with broadcasting; on two numbers (traced sizes when run) plain JS arithmetic. */
export const minimum = defineBinaryOp('minimum', 'Min', (a, b) => Math.min(a, b));
