import { defineReductionOp } from './helpers/reduction.js';

/** Maximum over `dim` (all dims when omitted), as `torch.amax(x, dim, keepdim)`. */
export const amax = defineReductionOp('amax', (ctx, x, axes, keepdims) =>
  ctx.emit('ReduceMax', [x], { axes, keepdims }),
);
