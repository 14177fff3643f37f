import type { TensorMeta } from '../tensor/tensor.js';
import type { LoweringContext } from './lowering.js';
import { expectFloat, expectRank, expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

/** Output size: one int for both dims, or a pair in which null keeps the input's size. */
export type AdaptiveSize = number | readonly (number | null)[];

function outputSize(op: string, x: TensorMeta, size: AdaptiveSize): [number, number] {
  const [h, w] = x.shape.slice(-2) as [number, number];
  const pairSize = typeof size === 'number' ? [size, size] : size;
  if (!Array.isArray(pairSize) || pairSize.length !== 2) {
    throw new TypeError(`[${op}] outputSize must be an int or a pair, got ${JSON.stringify(size)}`);
  }
  const out = [pairSize[0] ?? h, pairSize[1] ?? w] as [number, number];
  if (!out.every((d) => Number.isInteger(d) && d > 0))
    throw new RangeError(`[${op}] outputSize must be positive, got ${JSON.stringify(size)}`);
  return out;
}

function inferAdaptive(op: string, x: TensorMeta, size: AdaptiveSize): TensorMeta {
  expectTensor(op, 'input', x);
  expectFloat(op, 'input', x);
  expectRank(op, 'input', x, [3, 4], 'expected (N, C, H, W) or (C, H, W)');
  const [oh, ow] = outputSize(op, x, size);
  return { dtype: x.dtype, shape: [...x.shape.slice(0, -2), oh, ow] };
}

/** PyTorch's adaptive windows: [floor(i * in / out), ceil((i + 1) * in / out)). */
function windows(input: number, output: number): [number, number][] {
  return Array.from({ length: output }, (_, i) => [
    Math.floor((i * input) / output),
    Math.ceil(((i + 1) * input) / output),
  ]);
}

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
  const parts = windows(input, output).map(([s, e]) => {
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
  const [oh, ow] = outputSize(op, x, size);
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
});

/** Max pooling to a fixed output size, as `F.adaptive_max_pool2d` (values only). */
export const adaptiveMaxPool2d = defineOp({
  name: 'adaptive_max_pool2d',
  infer: (x: TensorMeta, outputSize: AdaptiveSize) => inferAdaptive('adaptive_max_pool2d', x, outputSize),
  shapeSpecific: true,
  lower: (ctx, x, size) =>
    lowerAdaptive(ctx, 'adaptive_max_pool2d', x as TensorMeta & { name: string }, size, 'ReduceMax'),
});
