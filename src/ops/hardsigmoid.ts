import { defineSimpleUnaryOp } from './helpers/elementwise.js';
import { gt } from './gt.js';
import { lt } from './lt.js';
import { mul } from './mul.js';
import { where } from './where.js';

/** relu6(x + 3) / 6; PyTorch's slope 1/6 and offset 1/2. The slope holds strictly inside (-3, 3). */
export const hardsigmoid = defineSimpleUnaryOp(
  'hardsigmoid',
  'HardSigmoid',
  ({ grad, input }) => where(gt(input, -3), where(lt(input, 3), mul(grad, 1 / 6), 0), 0),
  { alpha: { float: 1 / 6 }, beta: { float: 0.5 } },
);
