import { expand } from './expand.js';
import { defineReductionOp } from './helpers/reduction.js';

/** Sum over `dim` (all dims when omitted), as `torch.sum(x, dim, keepdim)`. */
export const sum = defineReductionOp(
  'sum',
  (ctx, x, axes, keepdims) => ctx.emit('ReduceSum', [x, ctx.int64s(axes)], { keepdims }),
  { backward: ({ grad, input }) => expand(grad, [...input.shape]) },
);
