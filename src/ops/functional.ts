/**
 * The functional namespace, `F` (PyTorch's `torch` and `torch.nn.functional` in one): the one
 * table of ops users call by name. Each entry is the op's own callable from its definition file.
 * TypeScript names are camelCase; the op (and graph node) names stay PyTorch's.
 */
export { add } from './add.js';
export { conv2d, type Conv2dOptions } from './conv2d.js';
export { relu } from './relu.js';
