import { numel } from '../tensor/shape.js';
import { div } from './div.js';
import { expand } from './expand.js';
import { defineReductionOp } from './helpers/reduction.js';

/** Mean over `dim` (all dims when omitted), as `torch.mean(x, dim, keepdim)`. */
export const mean = defineReductionOp(
  'mean',
  (ctx, x, axes, keepdims) => ctx.emit('ReduceMean', [x], { axes, keepdims }),
  {
    floatOnly: true,
    backward: ({ grad, input, output }) =>
      div(expand(grad, [...input.shape]), numel(input.shape) / numel(output.shape)),
  },
);
