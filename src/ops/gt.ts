import { defineComparisonOp } from './helpers/comparison.js';

export const gt = defineComparisonOp('gt', 'Greater');
