import { numel } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

/**
 * The positions of the non-zero (true) elements, as `torch.nonzero`: int64 [n, ndim], one row per
 * element in row-major order. `F.nonzero(mask).getitem([slice(), 0])` is torchvision's
 * `torch.where(mask)[0]` for a 1-D mask.
 *
 * n depends on the data: the shape rule gives the largest possible n (every element), which is
 * what shape propagation sees; eager calls return the actual rows.
 * @example
 * F.nonzero(tensor([0, 3, 0, 1])); // [[1], [3]]
 */
export const nonzero = defineOp({
  name: 'nonzero',
  infer: (x: TensorMeta): TensorMeta => {
    expectTensor('nonzero', 'input', x);
    // ONNX's NonZero reads a 0-D tensor as a 1-D one; torch's [n, 0] result is not worth a lowering.
    if (x.shape.length === 0)
      throw new RangeError('[nonzero] input must have at least one dim, got a 0-D tensor; use x.reshape([1])');
    return { dtype: 'int64', shape: [numel(x.shape), x.shape.length] };
  },
  lower: (ctx, x) => ctx.emit('Transpose', [ctx.emit('NonZero', [x])], { perm: [1, 0] }),
  // An integer result: no gradient flows through it.
  differentiable: false,
});
