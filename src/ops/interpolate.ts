import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import { expectFloat, expectRank, expectTensor } from './helpers/checks.js';
import { separableAdjoint } from './helpers/pooling-gradients.js';
import { defineOp } from './registry.js';

export interface InterpolateOptions {
  /** Output [H, W] (or one int for both). Give this or scaleFactor. */
  size?: number | readonly [number, number];
  scaleFactor?: number | readonly [number, number];
  mode?: 'nearest' | 'bilinear';
  /** For bilinear: align the corner pixels (default false). */
  alignCorners?: boolean;
}

function resolve(x: TensorMeta, options: InterpolateOptions): { size: [number, number]; scales?: [number, number] } {
  const hasSize = options.size !== undefined && options.size !== null;
  const hasScale = options.scaleFactor !== undefined && options.scaleFactor !== null;
  if (hasSize === hasScale) throw new TypeError('[interpolate] give exactly one of size and scaleFactor');
  const mode = options.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear')
    throw new RangeError(`[interpolate] mode must be 'nearest' or 'bilinear', got ${String(mode)}`);
  if (mode === 'nearest' && options.alignCorners !== undefined) {
    throw new TypeError("[interpolate] alignCorners only applies to mode 'bilinear'");
  }
  const [h, w] = x.shape.slice(-2) as [number, number];
  if (hasSize) {
    const s = typeof options.size === 'number' ? [options.size, options.size] : options.size!;
    return { size: [s[0]!, s[1]!] };
  }
  const f = typeof options.scaleFactor === 'number' ? [options.scaleFactor, options.scaleFactor] : options.scaleFactor!;
  const scales: [number, number] = [f[0]!, f[1]!];
  return { size: [Math.floor(h * scales[0]), Math.floor(w * scales[1])], scales };
}

/**
 * Resizes the spatial dims of an NCHW tensor, with PyTorch's coordinate rules: 'nearest' picks
 * floor(dst * in / out); 'bilinear' uses half-pixel centres unless alignCorners.
 * @example
 * F.interpolate(randn([1, 4, 8, 8]), { size: [16, 16] }); // [1, 4, 16, 16]
 */
export const interpolate = defineOp({
  name: 'interpolate',
  infer: (x: TensorMeta, options: InterpolateOptions): TensorMeta => {
    expectTensor('interpolate', 'input', x);
    expectFloat('interpolate', 'input', x);
    expectRank('interpolate', 'input', x, [4], 'expected (N, C, H, W)');
    const { size } = resolve(x, options);
    if (!size.every((d) => Number.isInteger(d) && d > 0))
      throw new RangeError(`[interpolate] invalid output size ${JSON.stringify(size)}`);
    return { dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...size] };
  },
  lower: (ctx, x, options) => {
    const { size, scales } = resolve(x as unknown as TensorMeta, options);
    const bilinear = options.mode === 'bilinear';
    const attributes = bilinear
      ? {
          mode: 'linear',
          coordinate_transformation_mode: options.alignCorners === true ? 'align_corners' : 'half_pixel',
        }
      : { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
    if (scales !== undefined) {
      return ctx.emit('Resize', [x, '', ctx.constant([1, 1, ...scales], 'float32')], attributes);
    }
    // Shape's own bounds (not a Slice) keep `sizes` at a known length of 4 when the constants are
    // kernel inputs: ONNX's shape inference for Resize rejects a `sizes` of unknown length.
    const leading = ctx.emit('Shape', [x], { start: 0, end: 2 });
    const sizes = ctx.emit('Concat', [leading, ctx.int64s(size)], { axis: 0 });
    return ctx.emit('Resize', [x, '', '', sizes], attributes);
  },
  // Both modes weigh rows and columns independently, so the adjoint is the per-axis matrices transposed.
  backward: ({ grad, args: [x, options] }) => {
    const { scales } = resolve(x, options);
    const alongAxis =
      (i: 0 | 1) =>
      (rows: Tensor): Tensor =>
        interpolate(rows, {
          ...options,
          ...(scales === undefined ? { size: [grad.shape[2 + i]!, rows.shape[3]!] } : { scaleFactor: [scales[i], 1] }),
        });
    return [separableAdjoint(grad, x.shape, alongAxis(0), alongAxis(1)), null];
  },
});
