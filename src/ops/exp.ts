import { defineSimpleUnaryOp } from './helpers/elementwise.js';

export const exp = defineSimpleUnaryOp('exp', 'Exp');
