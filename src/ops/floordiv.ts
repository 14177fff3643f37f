import { type Operand, inferBinary, withScalarOverload } from './helpers/elementwise.js';
import { inferLowered, lowerDiv } from './div.js';
import { defineOp } from './registry.js';

/**
 * Python's `a // b`: floor division. Size arithmetic in traced code uses it
 * (`F.floordiv(channels, groups)`), so on two numbers it is plain JS.
 */
export const floordiv = withScalarOverload(
  defineOp({
    name: 'floordiv',
    infer: (a: Operand, b: Operand) => inferBinary('floordiv', a, b),
    lower: (ctx, a, b) =>
      lowerDiv(ctx, a, b, { roundingMode: 'floor' }, inferLowered('floordiv', a, b, { roundingMode: 'floor' })),
    scalar: (a, b) => Math.floor(a / b),
    // Piecewise constant: no gradient (PyTorch's would be all zeros).
    backward: () => [null, null],
  }),
);
