import { formatShape } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { sumToShape } from './helpers/gradients.js';
import { defineOp } from './registry.js';
import { reshape } from './reshape.js';
import { sum } from './sum.js';

/** Broadcasts to `sizes` (-1 keeps a size), as `Tensor.expand`. */
export const expand = defineOp({
  name: 'expand',
  infer: (x: TensorMeta, sizes: readonly number[]): TensorMeta => {
    expectTensor('expand', 'input', x);
    if (sizes.length < x.shape.length) {
      throw new RangeError(
        `[expand] sizes ${formatShape(sizes)} have fewer dims than the input ${formatShape(x.shape)}`,
      );
    }
    const offset = sizes.length - x.shape.length;
    const shape = sizes.map((s, i) => {
      const current = i < offset ? 1 : x.shape[i - offset]!;
      const target = s === -1 ? current : s;
      if (current !== target && current !== 1) {
        throw new RangeError(
          `[expand] cannot expand size ${current} to ${target} (input ${formatShape(x.shape)}, sizes ${formatShape(sizes)})`,
        );
      }
      return target;
    });
    return { dtype: x.dtype, shape };
  },
  // Expand broadcasts, so a 1 where torch says -1 keeps the input's size.
  lower: (ctx, x, sizes) => ctx.emit('Expand', [x, ctx.int64s(sizes.map((s) => (s === -1 ? 1 : s)))]),
  backward: ({ grad, args: [x] }) => [sumToShape(grad, x.shape)],
});

/** Tiles the tensor `repeats` times per dim, as `Tensor.repeat`. */
export const repeat = defineOp({
  name: 'repeat',
  infer: (x: TensorMeta, repeats: readonly number[]): TensorMeta => {
    expectTensor('repeat', 'input', x);
    if (repeats.length < x.shape.length)
      throw new RangeError('[repeat] give at least as many repeats as the input has dims');
    const padded = [...Array<number>(repeats.length - x.shape.length).fill(1), ...x.shape];
    return { dtype: x.dtype, shape: padded.map((d, i) => d * repeats[i]!) };
  },
  lower: (ctx, x, repeats) => {
    const extra = repeats.length - x.shape.length;
    const base = extra > 0 ? ctx.emit('Unsqueeze', [x, ctx.int64s(Array.from({ length: extra }, (_, i) => i))]) : x;
    return ctx.emit('Tile', [base, ctx.int64s(repeats)]);
  },
  // Tile lays copies out as [repeat, size] per dim: split each dim so, and sum the copies.
  backward: ({ grad, args: [x, repeats] }) => {
    const padded = [...Array<number>(repeats.length - x.shape.length).fill(1), ...x.shape];
    const split = reshape(grad, padded.flatMap((d, i) => [repeats[i]!, d]));
    return [reshape(sum(split, padded.map((_, i) => 2 * i)), [...x.shape])];
  },
});
