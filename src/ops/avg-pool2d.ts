import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import { type Pool2dOptions, inferPool2d, onnxPads, resolvePool } from './helpers/pooling.js';
import { separableAdjoint } from './helpers/pooling-gradients.js';
import { defineOp } from './registry.js';

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count padded zeros in the average (default true, as PyTorch). */
  countIncludePad?: boolean;
}

/**
 * 2-D average pooling with PyTorch's arguments.
 * @example
 * F.avgPool2d(randn([1, 8, 6, 6]), { kernelSize: 2 }); // [1, 8, 3, 3]
 */
export const avgPool2d = defineOp({
  name: 'avg_pool2d',
  infer: (x: TensorMeta, options: AvgPool2dOptions) => inferPool2d('avg_pool2d', x, resolvePool('avg_pool2d', options)),
  shapeSpecific: true,
  lower: (ctx, x, options) => {
    const r = resolvePool('avg_pool2d', options);
    const size = x.shape.slice(-2) as [number, number];
    const out = inferPool2d('avg_pool2d', { dtype: x.dtype, shape: x.shape as number[] }, r).shape.slice(-2) as [
      number,
      number,
    ];
    const attributes = { kernel_shape: r.kernel, strides: r.stride };
    const countPad = options.countIncludePad ?? true;
    const extra = onnxPads(r, size, out);
    if (!countPad || (extra[2] === r.padding[0] && extra[3] === r.padding[1])) {
      return ctx.emit('AveragePool', [x], { ...attributes, pads: extra, count_include_pad: countPad ? 1 : 0 });
    }
    // Ceil mode with counted padding: PyTorch divides by the window clipped to the padded input.
    // Padding explicitly with zeros and letting ONNX ignore only the extra end padding gives that.
    const [pt, pl] = r.padding;
    const padded = ctx.emit('Pad', [x, ctx.int64s([0, 0, pt, pl, 0, 0, pt, pl])]);
    const endPads = [0, 0, extra[2]! - pt, extra[3]! - pl];
    return ctx.emit('AveragePool', [padded], { ...attributes, pads: endPads, count_include_pad: 0 });
  },
  // Each window's divisor is the product of its extents along H and W (counted or clipped), so the
  // pool is separable and its adjoint is the per-axis pools' matrices transposed.
  backward: ({ grad, args: [x, options] }) => {
    const r = resolvePool('avg_pool2d', options);
    const alongAxis =
      (i: 0 | 1) =>
      (rows: Tensor): Tensor =>
        avgPool2d(rows, {
          kernelSize: [r.kernel[i], 1],
          stride: [r.stride[i], 1],
          padding: [r.padding[i], 0],
          ceilMode: r.ceilMode,
          countIncludePad: options.countIncludePad ?? true,
        });
    return [separableAdjoint(grad, x.shape, alongAxis(0), alongAxis(1)), null];
  },
});
