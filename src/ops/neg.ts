import { defineUnaryOp } from './helpers/elementwise.js';

export const neg = defineUnaryOp('neg', (ctx, x) => ctx.emit('Neg', [x]), { backward: ({ grad }) => neg(grad) });
