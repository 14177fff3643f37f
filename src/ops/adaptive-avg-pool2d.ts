import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import type { LoweringContext } from './lowering.js';
import { type AdaptiveSize, adaptiveOutputSize, adaptiveWindows, inferAdaptive } from './helpers/pooling.js';
import { adaptiveMaxPool2dWithIndices } from './adaptive-max-pool2d-with-indices.js';
import { routeToIndices, separableAdjoint } from './helpers/pooling-gradients.js';
import { defineOp } from './registry.js';

export type { AdaptiveSize };

/**
 * Reduces each window along one axis and concatenates. Adaptive pooling is separable (every
 * window is a rectangle), so pooling rows then columns gives the 2-D result.
 */
function poolAxis(
  ctx: LoweringContext,
  x: string,
  axis: number,
  input: number,
  output: number,
  reduce: string,
): string {
  if (input === output) return x;
  if (input % output === 0) {
    // Equal, non-overlapping windows: one strided pooling node.
    const k = input / output;
    const kernel = axis === 2 ? [k, 1] : [1, k];
    return ctx.emit(reduce === 'ReduceMean' ? 'AveragePool' : 'MaxPool', [x], {
      kernel_shape: kernel,
      strides: kernel,
    });
  }
  const parts = adaptiveWindows(input, output).map(([s, e]) => {
    const slice = ctx.emit('Slice', [x, ctx.int64s([s]), ctx.int64s([e]), ctx.int64s([axis])]);
    return ctx.emit(reduce, [slice], { axes: [axis], keepdims: 1 });
  });
  return ctx.emit('Concat', parts, { axis });
}

function lowerAdaptive(
  ctx: LoweringContext,
  op: string,
  x: TensorMeta & { name: string },
  size: AdaptiveSize,
  reduce: string,
): string {
  const rank = x.shape.length;
  const [h, w] = x.shape.slice(-2) as [number, number];
  const [oh, ow] = adaptiveOutputSize(op, x, size);
  if (oh === 1 && ow === 1) return ctx.emit(reduce === 'ReduceMean' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name]);
  const rows = poolAxis(ctx, x.name, rank - 2, h, oh, reduce);
  return poolAxis(ctx, rows, rank - 1, w, ow, reduce);
}

/**
 * Average pooling to a fixed output size, for any input and output sizes, as PyTorch computes it.
 * @example
 * F.adaptiveAvgPool2d(randn([1, 8, 7, 7]), [3, 3]); // [1, 8, 3, 3]
 */
export const adaptiveAvgPool2d = defineOp({
  name: 'adaptive_avg_pool2d',
  infer: (x: TensorMeta, outputSize: AdaptiveSize) => inferAdaptive('adaptive_avg_pool2d', x, outputSize),
  shapeSpecific: true,
  lower: (ctx, x, size) =>
    lowerAdaptive(ctx, 'adaptive_avg_pool2d', x as TensorMeta & { name: string }, size, 'ReduceMean'),
  backward: ({ grad, args: [x] }): [Tensor, null] => {
    const [oh, ow] = grad.shape.slice(-2) as [number, number];
    const alongAxis =
      (size: number) =>
      (rows: Tensor): Tensor =>
        adaptiveAvgPool2d(rows, [size, null]);
    return [separableAdjoint(grad, x.shape, alongAxis(oh), alongAxis(ow)), null];
  },
});

/** Max pooling to a fixed output size, as `F.adaptive_max_pool2d` (values only). */
export const adaptiveMaxPool2d = defineOp({
  name: 'adaptive_max_pool2d',
  infer: (x: TensorMeta, outputSize: AdaptiveSize) => inferAdaptive('adaptive_max_pool2d', x, outputSize),
  shapeSpecific: true,
  lower: (ctx, x, size) =>
    lowerAdaptive(ctx, 'adaptive_max_pool2d', x as TensorMeta & { name: string }, size, 'ReduceMax'),
  // The forward keeps no indices (feature extraction never needs them): the rule recomputes them.
  backward: ({ grad, args: [x, size] }) => [
    routeToIndices(grad, adaptiveMaxPool2dWithIndices(x, size)[1]!, x.shape),
    null,
  ],
});
