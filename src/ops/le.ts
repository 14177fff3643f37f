import { defineComparisonOp } from './helpers/comparison.js';

export const le = defineComparisonOp('le', 'LessOrEqual');
