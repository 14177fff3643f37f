import { defineBinaryOp } from './helpers/elementwise.js';

/** Elementwise power with broadcasting. */
export const pow = defineBinaryOp('pow', 'Pow', (a, b) => a ** b);
