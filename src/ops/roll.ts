import { normalizeDim } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { isValue } from './lowering.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';

function pairs(
  x: { shape: readonly unknown[] },
  shifts: number | readonly number[],
  dims: number | readonly number[],
): [number, number][] {
  const s = typeof shifts === 'number' ? [shifts] : shifts;
  const d = typeof dims === 'number' ? [dims] : dims;
  if (s.length !== d.length)
    throw new RangeError(`[roll] shifts and dims must have the same length, got ${s.length} and ${d.length}`);
  return s.map((shift, i) => [shift, normalizeDim(d[i]!, x.shape.length, 'roll')]);
}

/** Rotates elements along dims, as `torch.roll(x, shifts, dims)`. */
export const roll = defineOp({
  name: 'roll',
  infer: (x: TensorMeta, shifts: number | readonly number[], dims: number | readonly number[]): TensorMeta => {
    expectTensor('roll', 'input', x);
    pairs(x, shifts, dims);
    return { dtype: x.dtype, shape: x.shape };
  },
  shapeSpecific: true,
  lower: (ctx, x, shifts, dims) => {
    let out = x.name;
    for (const [shift, axis] of pairs(x, shifts, dims)) {
      const axes = ctx.int64s([axis]);
      if (isValue(shift)) {
        // A shift computed in the graph (a size): k = shift mod size, then x[-k:] and x[:-k].
        // For k = 0 the first slice is all of x and the second empty, so x comes out as it was.
        const size = ctx.emit('Gather', [ctx.emit('Shape', [out]), ctx.constant(axis, 'int64')], { axis: 0 });
        const k = ctx.emit('Mod', [ctx.cast(shift, 'int64'), size]);
        const minusK = ctx.emit('Unsqueeze', [ctx.emit('Neg', [k]), ctx.int64s([0])]);
        const tail = ctx.emit('Slice', [out, minusK, ctx.int64s([Number.MAX_SAFE_INTEGER]), axes]);
        const head = ctx.emit('Slice', [out, ctx.int64s([0]), minusK, axes]);
        out = ctx.emit('Concat', [tail, head], { axis });
        continue;
      }
      const size = ctx.staticDim(x, axis, 'roll');
      const k = ((shift % size) + size) % size;
      if (k === 0) continue;
      const tail = ctx.emit('Slice', [out, ctx.int64s([size - k]), ctx.int64s([size]), axes]);
      const head = ctx.emit('Slice', [out, ctx.int64s([0]), ctx.int64s([size - k]), axes]);
      out = ctx.emit('Concat', [tail, head], { axis });
    }
    return out === x.name ? ctx.emit('Identity', [x]) : out;
  },
  backward: ({ grad, args: [, shifts, dims] }): ArgumentGradients => [
    roll(grad, typeof shifts === 'number' ? -shifts : shifts.map((s) => -s), dims),
  ],
});
