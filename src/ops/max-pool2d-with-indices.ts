import type { TensorMeta } from '../tensor/tensor.js';
import { expectRank } from './helpers/checks.js';
import { routeToIndices } from './helpers/pooling-gradients.js';
import { inferPool2d, onnxPads, resolvePool } from './helpers/pooling.js';
import type { MaxPool2dOptions } from './max-pool2d.js';
import { defineOp } from './registry.js';

function infer(x: TensorMeta, options: MaxPool2dOptions): TensorMeta[] {
  const values = inferPool2d('max_pool2d_with_indices', x, resolvePool('max_pool2d_with_indices', options));
  expectRank('max_pool2d_with_indices', 'input', x, [4], 'expected (N, C, H, W)');
  return [values, { dtype: 'int64', shape: values.shape }];
}

/**
 * 2-D max pooling that also gives where each maximum is, as `F.max_pool2d(..., return_indices=True)`:
 * [values, indices], an index being h * W + w within its (n, c) plane (the first maximum in
 * row-major order where a window has ties).
 * @example
 * const [values, indices] = F.maxPool2dWithIndices(randn([1, 8, 7, 7]), { kernelSize: 3, stride: 2 });
 */
export const maxPool2dWithIndices = defineOp({
  name: 'max_pool2d_with_indices',
  infer,
  shapeSpecific: true,
  lower: (ctx, x, options) => {
    const r = resolvePool('max_pool2d_with_indices', options);
    const [h, w] = x.shape.slice(-2) as [number, number];
    const out = infer({ dtype: x.dtype, shape: x.shape as number[] }, options)[0]!.shape.slice(-2) as [number, number];
    const pads = onnxPads(r, [h, w], out);
    const [values, flat] = ctx.emitMulti('MaxPool', [x], 2, {
      kernel_shape: r.kernel,
      strides: r.stride,
      pads,
      dilations: r.dilation,
    }) as [string, string];
    // ONNX counts positions across the whole NCHW tensor; PyTorch within each plane.
    return [values, ctx.emit('Mod', [flat, ctx.constant(h * w, 'int64')])];
  },
  backward: ({ grad: [gradValues], args: [x], output: [, indices] }) => [
    routeToIndices(gradValues!, indices!, x.shape),
    null,
  ],
});
