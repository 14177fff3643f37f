import { tensor } from '../tensor/creation.js';
import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import { add } from './add.js';
import { getitem, slice } from './getitem.js';
import { alongAxis } from './helpers/axis-index.js';
import { expectTensor } from './helpers/checks.js';
import type { Value } from './lowering.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';
import { sum } from './sum.js';

export interface PadOptions {
  mode?: 'constant' | 'reflect' | 'replicate';
  value?: number;
}

const ONNX_MODES = { constant: 'constant', reflect: 'reflect', replicate: 'edge' } as const;

/**
 * ONNX pads ([begins..., ends...] over all dims) from PyTorch's last-dim-first pairs. Amounts may
 * be graph values when lowered (sizes computed in the graph), which are only moved here.
 */
function onnxPads<T extends number | Value>(rank: number, pad: readonly T[]): (T | number)[] {
  if (pad.length % 2 !== 0 || pad.length / 2 > rank) {
    throw new RangeError(`[pad] pad must have an even length of at most ${2 * rank}, got ${pad.length}`);
  }
  const begins = Array<T | number>(rank).fill(0);
  const ends = Array<T | number>(rank).fill(0);
  for (let i = 0; i < pad.length / 2; i++) {
    begins[rank - 1 - i] = pad[2 * i]!;
    ends[rank - 1 - i] = pad[2 * i + 1]!;
  }
  return [...begins, ...ends];
}

/** PyTorch-order pads (last dim first) that pad only `axis` of a rank-`rank` tensor. */
export function padAt(rank: number, axis: number, begin: number, end: number): number[] {
  const pads = Array<number>(2 * (rank - axis)).fill(0);
  pads[pads.length - 2] = begin;
  pads[pads.length - 1] = end;
  return pads;
}

/** Positions `from`, `from - 1`, ... down to `to` (inclusive), as an int64 index. */
function descending(from: number, to: number): Tensor {
  return tensor(Array.from({ length: from - to + 1 }, (_, i) => from - i), { dtype: 'int64' });
}

/**
 * The adjoint of reflect or replicate padding along one axis (`before` and `after` added to a dim
 * of `size`): the middle of the gradient, plus what the padding copied, added back at its source.
 * Reflect copies x[before..1] to the front and x[size-2..size-1-after] to the back, in reverse;
 * replicate copies x[0] and x[size-1].
 */
function foldAxis(g: Tensor, axis: number, size: number, before: number, after: number, mode: string): Tensor {
  const rank = g.shape.length;
  const at = (item: Parameters<typeof alongAxis>[1]): Tensor => getitem(g, alongAxis(axis, item));
  let out = at(slice(before, before + size));
  if (before > 0) {
    const front =
      mode === 'reflect'
        ? pad(at(descending(before - 1, 0)), padAt(rank, axis, 1, size - 1 - before))
        : pad(sum(at(slice(0, before)), [axis], true), padAt(rank, axis, 0, size - 1));
    out = add(out, front);
  }
  if (after > 0) {
    const end = before + size;
    const back =
      mode === 'reflect'
        ? pad(at(descending(end + after - 1, end)), padAt(rank, axis, size - 1 - after, 1))
        : pad(sum(at(slice(end, end + after)), [axis], true), padAt(rank, axis, size - 1, 0));
    out = add(out, back);
  }
  return out;
}

/** Pads the last dims, as `F.pad(x, pad, mode, value)`: `pad` is (left, right, top, bottom, ...). */
export const pad = defineOp({
  name: 'pad',
  infer: (x: TensorMeta, padding: readonly number[], options: PadOptions = {}): TensorMeta => {
    expectTensor('pad', 'input', x);
    const pads = onnxPads(x.shape.length, padding);
    const mode = options.mode ?? 'constant';
    if (!(mode in ONNX_MODES))
      throw new RangeError(`[pad] mode must be constant, reflect or replicate, got ${String(mode)}`);
    const rank = x.shape.length;
    return { dtype: x.dtype, shape: x.shape.map((d, i) => d + (pads[i] as number) + (pads[rank + i] as number)) };
  },
  lower: (ctx, x, padding, options = {}) => {
    const mode = ONNX_MODES[options.mode ?? 'constant'];
    const inputs = [x.name, ctx.int64s(onnxPads(x.shape.length, padding))];
    if (mode === 'constant') inputs.push(ctx.constant(options.value ?? 0, x.dtype));
    return ctx.emit('Pad', inputs, { mode });
  },
  backward: ({ grad, args: [x, padding, options = {}] }): ArgumentGradients => {
    const mode = options.mode ?? 'constant';
    // Constant padding's adjoint crops what it added (and pads back what a negative pad cropped).
    if (mode === 'constant') return [pad(grad, padding.map((p) => -p))];
    const rank = x.shape.length;
    const pads = onnxPads(rank, padding);
    let g = grad;
    for (let axis = 0; axis < rank; axis++) {
      if (pads[axis] !== 0 || pads[rank + axis] !== 0) {
        g = foldAxis(g, axis, x.shape[axis]!, pads[axis]!, pads[rank + axis]!, mode);
      }
    }
    return [g];
  },
});
