import { defineUnaryOp } from './helpers/elementwise.js';

export const abs = defineUnaryOp('abs', (ctx, x) => ctx.emit('Abs', [x]));
