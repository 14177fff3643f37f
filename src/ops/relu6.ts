import { defineUnaryOp } from './helpers/elementwise.js';
import { gt } from './gt.js';
import { lt } from './lt.js';
import { where } from './where.js';

/** min(max(x, 0), 6), as MobileNet uses. The gradient passes strictly inside (0, 6), as PyTorch's hardtanh. */
export const relu6 = defineUnaryOp(
  'relu6',
  (ctx, x) => ctx.emit('Clip', [x, ctx.constant(0, x.dtype), ctx.constant(6, x.dtype)]),
  {
    floatOnly: true,
    backward: ({ grad, input }) => where(gt(input, 0), where(lt(input, 6), grad, 0), 0),
  },
);
