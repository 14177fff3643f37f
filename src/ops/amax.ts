import { div } from './div.js';
import { eq } from './eq.js';
import { defineReductionOp } from './helpers/reduction.js';
import { sum } from './sum.js';
import { to } from './to.js';
import { where } from './where.js';

/**
 * Maximum over `dim` (all dims when omitted), as `torch.amax(x, dim, keepdim)`. Its gradient goes
 * to the elements equal to the maximum, split evenly among ties, as PyTorch's.
 */
export const amax = defineReductionOp(
  'amax',
  (ctx, x, axes, keepdims) => ctx.emit('ReduceMax', [x], { axes, keepdims }),
  {
    backward: ({ grad, input, output, axes }) => {
      const isMax = eq(input, output);
      const ties = sum(to(isMax, input.dtype), [...axes], true);
      return where(isMax, div(grad, ties), 0);
    },
  },
);
