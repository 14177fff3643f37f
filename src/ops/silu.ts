import { add } from './add.js';
import { defineUnaryOp } from './helpers/elementwise.js';
import { mul } from './mul.js';
import { sigmoid } from './sigmoid.js';
import { sub } from './sub.js';

/** x * sigmoid(x), also called swish. */
export const silu = defineUnaryOp('silu', (ctx, x) => ctx.emit('Mul', [x, ctx.emit('Sigmoid', [x])]), {
  floatOnly: true,
  // d/dx x s(x) = s (1 + x (1 - s))
  backward: ({ grad, input }) => {
    const s = sigmoid(input);
    return mul(grad, mul(s, add(mul(input, sub(1, s)), 1)));
  },
});
