import { defineUnaryOp } from './helpers/elementwise.js';
import { gt } from './gt.js';
import { lt } from './lt.js';
import { neg } from './neg.js';
import { where } from './where.js';

/** |x|; its gradient is grad * sign(x), 0 at 0 as in PyTorch. */
export const abs = defineUnaryOp('abs', (ctx, x) => ctx.emit('Abs', [x]), {
  backward: ({ grad, input }) => where(gt(input, 0), grad, where(lt(input, 0), neg(grad), 0)),
});
