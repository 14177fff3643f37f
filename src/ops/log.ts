import { div } from './div.js';
import { defineSimpleUnaryOp } from './helpers/elementwise.js';

export const log = defineSimpleUnaryOp('log', 'Log', ({ grad, input }) => div(grad, input));
