import { defineComparisonOp } from './helpers/comparison.js';

export const ge = defineComparisonOp('ge', 'GreaterOrEqual');
