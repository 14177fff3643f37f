import { defineBinaryOp } from './helpers/elementwise.js';
import { eq } from './eq.js';
import { ge } from './ge.js';
import { log } from './log.js';
import { mul } from './mul.js';
import { sub } from './sub.js';
import { where } from './where.js';

/**
 * Elementwise power with broadcasting. As PyTorch's, the base's gradient is 0 where the exponent
 * is 0, and the exponent's is 0 where the base is 0 and the exponent >= 0 (not 0 * log 0 = NaN).
 */
export const pow = defineBinaryOp(
  'pow',
  'Pow',
  (a, b) => a ** b,
  ({ grad, args: [a, b], output }) => [
    () => {
      if (typeof b === 'number') return b === 0 ? mul(grad, 0) : mul(grad, mul(pow(a, b - 1), b));
      return where(eq(b, 0), 0, mul(grad, mul(pow(a, sub(b, 1)), b)));
    },
    () => {
      if (typeof a === 'number') {
        const g = mul(grad, mul(output, Math.log(a)));
        return a === 0 ? where(ge(b, 0), 0, g) : g;
      }
      const g = mul(grad, mul(output, log(a)));
      return where(eq(a, 0), where(ge(b, 0), 0, g), g);
    },
  ],
);
