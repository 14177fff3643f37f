import { formatShape, normalizeDim } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectInt, expectTensor } from './helpers/checks.js';
import { cat } from './cat.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';

/** Sizes of `torch.split` pieces: equal pieces of `size` (the last smaller), or the given sections. */
function splitSizes(op: string, length: number, sizeOrSections: number | readonly number[]): number[] {
  if (typeof sizeOrSections === 'number') {
    const size = expectInt(op, 'split size', sizeOrSections, 1);
    const sizes: number[] = [];
    for (let start = 0; start < length; start += size) sizes.push(Math.min(size, length - start));
    return sizes.length === 0 ? [0] : sizes;
  }
  const total = sizeOrSections.reduce((a, b) => a + b, 0);
  if (total !== length)
    throw new RangeError(
      `[${op}] sections ${formatShape(sizeOrSections)} sum to ${total}, not the dim's size ${length}`,
    );
  return [...sizeOrSections];
}

/** `torch.chunk`'s pieces: ceil(size / chunks) each, so there may be fewer than `chunks`. */
function chunkSizes(length: number, chunks: number): number[] {
  expectInt('chunk', 'chunks', chunks, 1);
  return splitSizes('chunk', length, Math.max(1, Math.ceil(length / chunks)));
}

function pieces(x: TensorMeta, d: number, sizes: number[]): TensorMeta[] {
  return sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((v, i) => (i === d ? s : v)) }));
}

/** Splits into pieces along `dim`, as `torch.split`. */
export const split = defineOp({
  name: 'split',
  infer: (x: TensorMeta, splitSizeOrSections: number | readonly number[], dim: number = 0): TensorMeta[] => {
    expectTensor('split', 'input', x);
    const d = normalizeDim(dim, x.shape.length, 'split');
    return pieces(x, d, splitSizes('split', x.shape[d]!, splitSizeOrSections));
  },
  shapeSpecific: true,
  lower: (ctx, x, sizeOrSections, dim = 0) => {
    const d = normalizeDim(dim, x.shape.length, 'split');
    const sizes = splitSizes('split', ctx.staticDim(x, d, 'split'), sizeOrSections);
    return ctx.emitMulti('Split', [x, ctx.int64s(sizes)], sizes.length, { axis: d });
  },
  backward: ({ grad, args: [, , dim = 0] }): ArgumentGradients => [cat(grad, dim)],
});

/** Splits into (at most) `chunks` pieces along `dim`, as `torch.chunk`. */
export const chunk = defineOp({
  name: 'chunk',
  infer: (x: TensorMeta, chunks: number, dim: number = 0): TensorMeta[] => {
    expectTensor('chunk', 'input', x);
    const d = normalizeDim(dim, x.shape.length, 'chunk');
    return pieces(x, d, chunkSizes(x.shape[d]!, chunks));
  },
  shapeSpecific: true,
  lower: (ctx, x, chunks, dim = 0) => {
    const d = normalizeDim(dim, x.shape.length, 'chunk');
    const sizes = chunkSizes(ctx.staticDim(x, d, 'chunk'), chunks);
    return ctx.emitMulti('Split', [x, ctx.int64s(sizes)], sizes.length, { axis: d });
  },
  backward: ({ grad, args: [, , dim = 0] }): ArgumentGradients => [cat(grad, dim)],
});
