import { defineComparisonOp } from './helpers/comparison.js';

export const eq = defineComparisonOp('eq', 'Equal');
