import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import type { LoweringContext, Value } from './lowering.js';
import { type AdaptiveSize, inferAdaptive } from './helpers/pooling.js';
import { adaptiveMaxPool2dWithIndices } from './adaptive-max-pool2d-with-indices.js';
import { routeToIndices, separableAdjoint } from './helpers/pooling-gradients.js';
import { defineOp } from './registry.js';

export type { AdaptiveSize };

/**
 * Reduces each window along one axis and concatenates. Adaptive pooling is separable (every
 * window is a rectangle), so pooling rows then columns gives the 2-D result. The windows are
 * PyTorch's, [floor(i * size / output), ceil((i + 1) * size / output)), computed in the graph
 * from the axis's size, so that one graph serves every input size (VGG's pooling to 7×7).
 */
function poolAxis(ctx: LoweringContext, x: string, axis: number, output: number, reduce: string): string {
  const size = ctx.emit('Gather', [ctx.emit('Shape', [x]), ctx.constant(axis, 'int64')], { axis: 0 });
  const bound = (i: number, roundUp: boolean): string => {
    const scaled = ctx.emit('Mul', [size, ctx.constant(i, 'int64')]);
    const numerator = roundUp ? ctx.emit('Add', [scaled, ctx.constant(output - 1, 'int64')]) : scaled;
    return ctx.emit('Unsqueeze', [ctx.emit('Div', [numerator, ctx.constant(output, 'int64')]), ctx.int64s([0])]);
  };
  const axes = ctx.int64s([axis]);
  const parts = Array.from({ length: output }, (_, i) => {
    const window = ctx.emit('Slice', [x, bound(i, false), bound(i + 1, true), axes]);
    return ctx.emit(reduce, [window], { axes: [axis], keepdims: 1 });
  });
  return parts.length === 1 ? parts[0]! : ctx.emit('Concat', parts, { axis });
}

function lowerAdaptive(ctx: LoweringContext, x: Value, size: AdaptiveSize, reduce: string): string {
  const rank = x.shape.length;
  const [oh, ow] = typeof size === 'number' ? [size, size] : size;
  if (oh === 1 && ow === 1) return ctx.emit(reduce === 'ReduceMean' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name]);
  // A null size keeps the input's along that axis: nothing to pool there.
  const rows = oh === null || oh === undefined ? x.name : poolAxis(ctx, x.name, rank - 2, oh, reduce);
  return ow === null || ow === undefined ? rows : poolAxis(ctx, rows, rank - 1, ow, reduce);
}

/**
 * Average pooling to a fixed output size, for any input and output sizes, as PyTorch computes it.
 * @example
 * F.adaptiveAvgPool2d(randn([1, 8, 7, 7]), [3, 3]); // [1, 8, 3, 3]
 */
export const adaptiveAvgPool2d = defineOp({
  name: 'adaptive_avg_pool2d',
  infer: (x: TensorMeta, outputSize: AdaptiveSize) => inferAdaptive('adaptive_avg_pool2d', x, outputSize),
  lower: (ctx, x, size) => lowerAdaptive(ctx, x, size, 'ReduceMean'),
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
  lower: (ctx, x, size) => lowerAdaptive(ctx, x, size, 'ReduceMax'),
  // The forward keeps no indices (feature extraction never needs them): the rule recomputes them.
  backward: ({ grad, args: [x, size] }) => [
    routeToIndices(grad, adaptiveMaxPool2dWithIndices(x, size)[1]!, x.shape),
    null,
  ],
});
