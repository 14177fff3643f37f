import { normalizeDim } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';
import { reshape } from './reshape.js';

/** Inserts a dim of size 1 at `dim`, as `torch.unsqueeze`. */
export const unsqueeze = defineOp({
  name: 'unsqueeze',
  view: true,
  infer: (x: TensorMeta, dim: number): TensorMeta => {
    expectTensor('unsqueeze', 'input', x);
    const d = normalizeDim(dim, x.shape.length + 1, 'unsqueeze');
    return { dtype: x.dtype, shape: [...x.shape.slice(0, d), 1, ...x.shape.slice(d)] };
  },
  lower: (ctx, x, dim) => ctx.emit('Unsqueeze', [x, ctx.int64s([normalizeDim(dim, x.shape.length + 1, 'unsqueeze')])]),
  backward: ({ grad, args: [x] }) => [reshape(grad, [...x.shape])],
});

/** Removes dims of size 1 (all, or only `dim` if it has size 1), as `torch.squeeze`. */
export const squeeze = defineOp({
  name: 'squeeze',
  view: true,
  infer: (x: TensorMeta, dim?: number): TensorMeta => {
    expectTensor('squeeze', 'input', x);
    if (dim === undefined) return { dtype: x.dtype, shape: x.shape.filter((d) => d !== 1) };
    const d = normalizeDim(dim, x.shape.length, 'squeeze');
    return { dtype: x.dtype, shape: x.shape[d] === 1 ? x.shape.filter((_, i) => i !== d) : x.shape };
  },
  shapeSpecific: true,
  lower: (ctx, x, dim) => {
    const axes =
      dim === undefined
        ? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
        : [normalizeDim(dim, x.shape.length, 'squeeze')].filter((i) => x.shape[i] === 1);
    return axes.length === 0 ? ctx.emit('Identity', [x]) : ctx.emit('Squeeze', [x, ctx.int64s(axes)]);
  },
  backward: ({ grad, args: [x] }) => [reshape(grad, [...x.shape])],
});
