import { defineSimpleUnaryOp } from './helpers/elementwise.js';

/** relu6(x + 3) / 6; PyTorch's slope 1/6 and offset 1/2. */
export const hardsigmoid = defineSimpleUnaryOp('hardsigmoid', 'HardSigmoid', {
  alpha: { float: 1 / 6 },
  beta: { float: 0.5 },
});
