import { defineUnaryOp } from './helpers/elementwise.js';

/** x * sigmoid(x), also called swish. */
export const silu = defineUnaryOp('silu', (ctx, x) => ctx.emit('Mul', [x, ctx.emit('Sigmoid', [x])]), {
  floatOnly: true,
});
