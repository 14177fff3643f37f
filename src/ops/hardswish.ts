import { add } from './add.js';
import { defineSimpleUnaryOp } from './helpers/elementwise.js';
import { gt } from './gt.js';
import { lt } from './lt.js';
import { mul } from './mul.js';
import { where } from './where.js';

/** x * relu6(x + 3) / 6. Its slope is 0 below -3, x/3 + 1/2 on [-3, 3] and 1 above, as PyTorch's. */
export const hardswish = defineSimpleUnaryOp('hardswish', 'HardSwish', ({ grad, input }) =>
  where(lt(input, -3), 0, where(gt(input, 3), grad, mul(grad, add(mul(input, 1 / 3), 0.5)))),
);
