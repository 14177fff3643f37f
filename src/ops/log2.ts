import { div } from './div.js';
import { defineUnaryOp } from './helpers/elementwise.js';
import { mul } from './mul.js';

/**
 * Base-2 logarithm, as `torch.log2`. ONNX has only the natural log: the quotient ln(x) / ln(2) is
 * taken in float64, so that exact powers of two give exact integers (torchvision's pooler floors
 * log2 of box sizes to pick a pyramid level, where 2.9999998 for 3 would pick the wrong one).
 * @example
 * F.log2(tensor([8, 0.25])); // [3, -2]
 */
export const log2 = defineUnaryOp(
  'log2',
  (ctx, x) => {
    const ln = ctx.emit('Log', [ctx.cast(x, 'float64')]);
    const quotient = ctx.emit('Div', [ln, ctx.constant(Math.LN2, 'float64')]);
    return x.dtype === 'float64' ? quotient : ctx.cast({ ...x, name: quotient, dtype: 'float64' }, x.dtype);
  },
  { floatOnly: true, backward: ({ grad, input }) => div(grad, mul(input, Math.LN2)) },
);
