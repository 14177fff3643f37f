import { defineSimpleUnaryOp } from './helpers/elementwise.js';

/** x * relu6(x + 3) / 6. */
export const hardswish = defineSimpleUnaryOp('hardswish', 'HardSwish');
