import { defineUnaryOp } from './helpers/elementwise.js';

/** min(max(x, 0), 6), as MobileNet uses. */
export const relu6 = defineUnaryOp(
  'relu6',
  (ctx, x) => ctx.emit('Clip', [x, ctx.constant(0, x.dtype), ctx.constant(6, x.dtype)]),
  {
    floatOnly: true,
  },
);
