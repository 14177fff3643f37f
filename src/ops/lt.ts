import { defineComparisonOp } from './helpers/comparison.js';

export const lt = defineComparisonOp('lt', 'Less');
