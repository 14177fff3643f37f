import { formatShape, normalizeDim } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { gather } from './gather.js';
import { expectDType, expectSameDType, expectTensor } from './helpers/checks.js';
import { checkIndexShape } from './helpers/indexing.js';
import type { ArgumentGradients } from './op.js';
import { pad } from './pad.js';
import { defineOp } from './registry.js';

/**
 * `input` with each element of `src` added at the position `index` gives along `dim`, as
 * `torch.scatter_add(input, dim, index, src)`: out[i][index[i][j]] += src[i][j] for dim 1 of a 2-D
 * input; repeated positions accumulate. Only the part of `src` that `index` covers is read.
 * @example
 * F.scatterAdd(zeros([3]), 0, tensor([0n, 2n, 0n]), tensor([1, 2, 3])); // [4, 0, 2]
 */
export const scatterAdd = defineOp({
  name: 'scatter_add',
  infer: (input: TensorMeta, dim: number, index: TensorMeta, src: TensorMeta): TensorMeta => {
    expectTensor('scatter_add', 'input', input);
    expectTensor('scatter_add', 'index', index);
    expectTensor('scatter_add', 'src', src);
    expectDType('scatter_add', 'index', index, ['int64']);
    expectSameDType('scatter_add', { input, src });
    const d = normalizeDim(dim, input.shape.length, 'scatter_add');
    checkIndexShape('scatter_add', input, index, d);
    if (index.shape.some((s, i) => s > src.shape[i]!)) {
      throw new RangeError(
        `[scatter_add] index of shape ${formatShape(index.shape)} must be no larger than src ${formatShape(src.shape)}`,
      );
    }
    return { dtype: input.dtype, shape: input.shape };
  },
  lower: (ctx, input, dim, index, src) => {
    // ScatterElements takes updates of the index's shape; torch reads that corner of src. Sizes
    // are symbolic in eager kernels, so the corner is cut at run time.
    const covered = ctx.emit('Slice', [src, ctx.int64s(index.shape.map(() => 0)), ctx.emit('Shape', [index])]);
    return ctx.emit('ScatterElements', [input, index, covered], {
      axis: normalizeDim(dim, input.shape.length, 'scatter_add'),
      reduction: 'add',
    });
  },
  backward: ({ grad, args: [, dim, index, src], needs }): ArgumentGradients => {
    if (needs[3] !== true) return [grad, null, null, null];
    const read = gather(grad, dim, index);
    // Elements of src beyond the index's corner were never read.
    const beyond = src.shape.flatMap((_, i) => {
      const axis = src.shape.length - 1 - i;
      return [0, src.shape[axis]! - index.shape[axis]!];
    });
    return [grad, null, null, beyond.every((p) => p === 0) ? read : pad(read, beyond)];
  },
});
