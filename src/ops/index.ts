/** The ops layer's public face: the functional namespace, with `Tensor` methods installed. */
import './tensor-methods.js';

export * as F from './functional.js';
export { getOp, hasOp, listOps } from './registry.js';
export type { Op, OpSpec, AnyOp } from './op.js';
