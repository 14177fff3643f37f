import { formatShape, normalizeDim } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { alongAxis } from './helpers/axis-index.js';
import { getitem } from './getitem.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';
import { split } from './split.js';

function checkList(op: string, tensors: readonly TensorMeta[]): void {
  if (!Array.isArray(tensors) || tensors.length === 0)
    throw new TypeError(`[${op}] expects a non-empty list of tensors`);
  tensors.forEach((t, i) => expectTensor(op, `tensors[${i}]`, t));
  const dtype = tensors[0]!.dtype;
  const other = tensors.find((t) => t.dtype !== dtype);
  if (other !== undefined)
    throw new TypeError(`[${op}] all tensors must have one dtype, got ${dtype} and ${other.dtype}`);
}

/** Joins tensors along an existing dim, as `torch.cat`. */
export const cat = defineOp({
  name: 'cat',
  infer: (tensors: readonly TensorMeta[], dim: number = 0): TensorMeta => {
    checkList('cat', tensors);
    const first = tensors[0]!;
    const d = normalizeDim(dim, first.shape.length, 'cat');
    let total = 0;
    for (const t of tensors) {
      if (t.shape.length !== first.shape.length || t.shape.some((s, i) => i !== d && s !== first.shape[i])) {
        throw new RangeError(
          `[cat] shapes ${formatShape(first.shape)} and ${formatShape(t.shape)} differ outside dim ${dim}`,
        );
      }
      total += t.shape[d]!;
    }
    return { dtype: first.dtype, shape: first.shape.map((s, i) => (i === d ? total : s)) };
  },
  lower: (ctx, tensors, dim = 0) =>
    ctx.emit('Concat', tensors, { axis: normalizeDim(dim, tensors[0]!.shape.length, 'cat') }),
  // Each input gets its own stretch of the gradient along dim.
  backward: ({ grad, args: [tensors, dim = 0] }): ArgumentGradients => [
    split(grad, tensors.map((t) => t.shape[normalizeDim(dim, t.shape.length, 'cat')]!), dim),
  ],
});

/** Joins tensors along a new dim, as `torch.stack`. */
export const stack = defineOp({
  name: 'stack',
  infer: (tensors: readonly TensorMeta[], dim: number = 0): TensorMeta => {
    checkList('stack', tensors);
    const first = tensors[0]!;
    for (const t of tensors) {
      if (formatShape(t.shape) !== formatShape(first.shape)) {
        throw new RangeError(
          `[stack] all tensors must have one shape, got ${formatShape(first.shape)} and ${formatShape(t.shape)}`,
        );
      }
    }
    const d = normalizeDim(dim, first.shape.length + 1, 'stack');
    return { dtype: first.dtype, shape: [...first.shape.slice(0, d), tensors.length, ...first.shape.slice(d)] };
  },
  lower: (ctx, tensors, dim = 0) => {
    const axes = ctx.int64s([normalizeDim(dim, tensors[0]!.shape.length + 1, 'stack')]);
    const parts = tensors.map((t) => ctx.emit('Unsqueeze', [t, axes]));
    return ctx.emit('Concat', parts, { axis: normalizeDim(dim, tensors[0]!.shape.length + 1, 'stack') });
  },
  backward: ({ grad, args: [tensors, dim = 0] }): ArgumentGradients => {
    const d = normalizeDim(dim, grad.shape.length, 'stack');
    return [tensors.map((_, i) => getitem(grad, alongAxis(d, i)))];
  },
});
