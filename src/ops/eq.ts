import { defineComparisonOp } from './helpers/comparison.js';
import { withScalarOverload } from './helpers/elementwise.js';

export const eq = withScalarOverload(defineComparisonOp('eq', 'Equal', false, (a, b) => a === b));
