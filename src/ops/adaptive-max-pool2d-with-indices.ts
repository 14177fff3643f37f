import type { TensorMeta } from '../tensor/tensor.js';
import type { LoweringContext } from './lowering.js';
import { routeToIndices } from './helpers/pooling-gradients.js';
import { type AdaptiveSize, adaptiveOutputSize, adaptiveWindows, inferAdaptive } from './helpers/pooling.js';
import { defineOp } from './registry.js';

/** Max and first argmax of each adaptive window along `axis`, the argmax counted from 0 on the axis. */
function maxAlong(ctx: LoweringContext, x: string, axis: number, input: number, output: number): [string, string] {
  const values: string[] = [];
  const indices: string[] = [];
  for (const [start, end] of adaptiveWindows(input, output)) {
    const window = ctx.emit('Slice', [x, ctx.int64s([start]), ctx.int64s([end]), ctx.int64s([axis])]);
    values.push(ctx.emit('ReduceMax', [window], { axes: [axis], keepdims: 1 }));
    const local = ctx.emit('ArgMax', [window], { axis, keepdims: 1, select_last_index: 0 });
    indices.push(ctx.emit('Add', [local, ctx.constant(start, 'int64')]));
  }
  return [ctx.emit('Concat', values, { axis }), ctx.emit('Concat', indices, { axis })];
}

/**
 * Adaptive max pooling that also gives where each maximum is, as
 * `F.adaptive_max_pool2d(..., return_indices=True)`: [values, indices], an index being h * W + w
 * within its plane (the first maximum in row-major order where a window has ties).
 * @example
 * const [values, indices] = F.adaptiveMaxPool2dWithIndices(randn([1, 8, 7, 7]), [3, 3]);
 */
export const adaptiveMaxPool2dWithIndices = defineOp({
  name: 'adaptive_max_pool2d_with_indices',
  infer: (x: TensorMeta, outputSize: AdaptiveSize): TensorMeta[] => {
    const values = inferAdaptive('adaptive_max_pool2d_with_indices', x, outputSize);
    return [values, { dtype: 'int64', shape: values.shape }];
  },
  shapeSpecific: true,
  lower: (ctx, x, outputSize) => {
    const rank = x.shape.length;
    const [h, w] = x.shape.slice(-2) as [number, number];
    const [oh, ow] = adaptiveOutputSize('adaptive_max_pool2d_with_indices', x as unknown as TensorMeta, outputSize);
    // The first maximum of a window in row-major order is in its first row holding the window's
    // maximum, at the first column where that row reaches it: so columns first, then rows.
    const [columnMax, column] = maxAlong(ctx, x.name, rank - 1, w, ow);
    const [values, row] = maxAlong(ctx, columnMax, rank - 2, h, oh);
    const columnOfRow = ctx.emit('GatherElements', [column, row], { axis: rank - 2 });
    const index = ctx.emit('Add', [ctx.emit('Mul', [row, ctx.constant(w, 'int64')]), columnOfRow]);
    return [values, index];
  },
  backward: ({ grad: [gradValues], args: [x], output: [, indices] }) => [
    routeToIndices(gradValues!, indices!, x.shape),
    null,
  ],
});
