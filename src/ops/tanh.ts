import { defineSimpleUnaryOp } from './helpers/elementwise.js';

export const tanh = defineSimpleUnaryOp('tanh', 'Tanh');
