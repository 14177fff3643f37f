import { defineSimpleUnaryOp } from './helpers/elementwise.js';

export const log = defineSimpleUnaryOp('log', 'Log');
