import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

/**
 * `Tensor.dim()`: the number of dimensions. Plain JS when run; traced, it records the node torch.fx
 * records for `x.dim()` (torchvision's ViT checks its input's rank with it).
 */
const dimOp = defineOp({
  name: 'dim',
  infer: (x: TensorMeta): TensorMeta => {
    expectTensor('dim', 'input', x);
    return { dtype: 'int64', shape: [] };
  },
  direct: (x) => x.shape.length as never,
  lower: (ctx, x) => ctx.constant(x.shape.length, 'int64'),
  // A count of dimensions: an integer, never a gradient.
  differentiable: false,
});

/** What callers get: a JS number (a graph value when traced, as torch.fx's `x.dim()`). */
export const dim = dimOp as ((x: Tensor) => number) & typeof dimOp;
