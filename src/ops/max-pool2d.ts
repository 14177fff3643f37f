import type { TensorMeta } from '../tensor/tensor.js';
import { type Pool2dOptions, inferPool2d, onnxPads, resolvePool } from './helpers/pooling.js';
import { routeToIndices } from './helpers/pooling-gradients.js';
import { maxPool2dWithIndices } from './max-pool2d-with-indices.js';
import { defineOp } from './registry.js';

export interface MaxPool2dOptions extends Pool2dOptions {
  dilation?: number | [number, number];
}

/**
 * 2-D max pooling with PyTorch's arguments.
 * @example
 * F.maxPool2d(randn([1, 8, 7, 7]), { kernelSize: 3, stride: 2, padding: 1 }); // [1, 8, 4, 4]
 */
export const maxPool2d = defineOp({
  name: 'max_pool2d',
  infer: (x: TensorMeta, options: MaxPool2dOptions) => inferPool2d('max_pool2d', x, resolvePool('max_pool2d', options)),
  // Ceil mode's padding depends on the input size.
  shapeSpecific: true,
  lower: (ctx, x, options) => {
    const r = resolvePool('max_pool2d', options);
    const out = inferPool2d('max_pool2d', { dtype: x.dtype, shape: x.shape as number[] }, r).shape.slice(-2) as [
      number,
      number,
    ];
    const pads = onnxPads(r, x.shape.slice(-2) as [number, number], out);
    return ctx.emit('MaxPool', [x], { kernel_shape: r.kernel, strides: r.stride, pads, dilations: r.dilation });
  },
  // The forward keeps no indices (feature extraction never needs them): the rule recomputes them.
  backward: ({ grad, args: [x, options] }) => [
    routeToIndices(grad, maxPool2dWithIndices(x, options)[1]!, x.shape),
    null,
  ],
});
