/**
 * The functional namespace, `F` (PyTorch's `torch` and `torch.nn.functional` in one): the one
 * table of ops users call by name. Each entry is the op itself (ops are callable), from its
 * definition file. TypeScript names are camelCase; op and graph-node names stay PyTorch's.
 */

// Numeric ops: elementwise, reductions, normalisation, pooling, linear algebra.
export { add } from './add.js';
export { conv2d, type Conv2dOptions } from './conv2d.js';
export { relu } from './relu.js';
// (numeric ops: add entries above this line)

// Shape and indexing ops.
// (shape ops: add entries above this line)

// Tracing support: what torch.fx records for attribute reads.
export { getattr } from './getattr.js';
