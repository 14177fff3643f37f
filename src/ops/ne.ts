import { defineComparisonOp } from './helpers/comparison.js';

export const ne = defineComparisonOp('ne', 'Equal', true);
