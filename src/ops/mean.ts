import { defineReductionOp } from './helpers/reduction.js';

/** Mean over `dim` (all dims when omitted), as `torch.mean(x, dim, keepdim)`. */
export const mean = defineReductionOp(
  'mean',
  (ctx, x, axes, keepdims) => ctx.emit('ReduceMean', [x], { axes, keepdims }),
  {
    floatOnly: true,
  },
);
