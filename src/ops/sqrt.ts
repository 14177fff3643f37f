import { div } from './div.js';
import { defineSimpleUnaryOp } from './helpers/elementwise.js';
import { mul } from './mul.js';

export const sqrt = defineSimpleUnaryOp('sqrt', 'Sqrt', ({ grad, output }) => div(grad, mul(output, 2)));
