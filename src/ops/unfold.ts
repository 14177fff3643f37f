import { formatShape } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { arange } from '../tensor/creation.js';
import { convTranspose2d } from './conv-transpose2d.js';
import { eq } from './eq.js';
import { expand } from './expand.js';
import { expectFloat, expectRank, expectTensor, pair } from './helpers/checks.js';
import { reshape } from './reshape.js';
import { defineOp } from './registry.js';
import { to } from './to.js';
import { unsqueeze } from './unsqueeze.js';

export interface UnfoldOptions {
  dilation?: number | [number, number];
  padding?: number | [number, number];
  stride?: number | [number, number];
}

interface Patches {
  kernel: [number, number];
  dilation: [number, number];
  padding: [number, number];
  stride: [number, number];
  /** Output rows and columns of patches. */
  out: [number, number];
}

/** The patch geometry for an input of `size` ([H, W]). */
function patches(size: readonly number[], kernelSize: number | readonly number[], options: UnfoldOptions): Patches {
  const kernel = pair('unfold', 'kernel_size', kernelSize, 1);
  const dilation = pair('unfold', 'dilation', options.dilation ?? 1, 1);
  const padding = pair('unfold', 'padding', options.padding ?? 0, 0);
  const stride = pair('unfold', 'stride', options.stride ?? 1, 1);
  const out = [0, 1].map(
    (i) => Math.floor((size[i]! + 2 * padding[i]! - dilation[i]! * (kernel[i]! - 1) - 1) / stride[i]!) + 1,
  ) as [number, number];
  if (out[0] <= 0 || out[1] <= 0) {
    throw new RangeError(
      `[unfold] input of size ${formatShape(size)} is too small for kernel ${kernel.join('x')} (no whole patch fits)`,
    );
  }
  return { kernel, dilation, padding, stride, out };
}

/**
 * The sliding patches of an image batch as columns, as `F.unfold` (im2col): (N, C, H, W) gives
 * (N, C·kH·kW, L), with channel c's kernel position (i, j) at row c·kH·kW + i·kW + j and L the
 * patches in row-major order. A convolution is a matrix product with it, which is how a
 * convolution's weight gradient is computed.
 * @example
 * F.unfold(arange(16, undefined, 1, { dtype: 'float32' }).reshape([1, 1, 4, 4]), 2, { stride: 2 }).shape; // [1, 4, 4]
 */
export const unfold = defineOp({
  name: 'unfold',
  // The slices' ends depend on the image size.
  shapeSpecific: true,
  infer: (x: TensorMeta, kernelSize: number | readonly [number, number], options: UnfoldOptions = {}): TensorMeta => {
    expectTensor('unfold', 'input', x);
    expectRank('unfold', 'input', x, [4], 'expected (N, C, H, W)');
    expectFloat('unfold', 'input', x);
    const { kernel, out } = patches(x.shape.slice(2), kernelSize, options);
    return { dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]! * kernel[0] * kernel[1], out[0] * out[1]] };
  },
  lower: (ctx, x, kernelSize, options = {}) => {
    const size = [2, 3].map((axis) => ctx.staticDim(x, axis, 'unfold'));
    const { kernel, dilation, padding, stride, out } = patches(size, kernelSize, options);
    const padded =
      padding[0] === 0 && padding[1] === 0
        ? x.name
        : ctx.emit('Pad', [x, ctx.int64s([0, 0, padding[0], padding[1], 0, 0, padding[0], padding[1]])]);
    const axes = ctx.int64s([2, 3]);
    const steps = ctx.int64s(stride);
    const slices: string[] = [];
    for (let i = 0; i < kernel[0]; i++) {
      for (let j = 0; j < kernel[1]; j++) {
        const starts = [i * dilation[0], j * dilation[1]];
        const ends = [starts[0]! + stride[0] * (out[0] - 1) + 1, starts[1]! + stride[1] * (out[1] - 1) + 1];
        const patch = ctx.emit('Slice', [padded, ctx.int64s(starts), ctx.int64s(ends), axes, steps]);
        slices.push(ctx.emit('Unsqueeze', [patch, ctx.int64s([2])]));
      }
    }
    const stacked = slices.length === 1 ? slices[0]! : ctx.emit('Concat', slices, { axis: 2 });
    return ctx.emit('Reshape', [stacked, ctx.int64s([0, -1, out[0] * out[1]])]);
  },
  // The adjoint of im2col is col2im (`F.fold`): each column entry added back where it was read,
  // a transposed convolution of the columns with one-hot kernels, one group per channel.
  backward: ({ grad, args: [x, kernelSize, options = {}] }) => {
    const { kernel, dilation, padding, stride, out } = patches(x.shape.slice(2), kernelSize, options);
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const positions = kernel[0] * kernel[1];
    const oneHot = to(eq(unsqueeze(arange(positions), 1), arange(positions)), grad.dtype);
    const kernels = reshape(expand(unsqueeze(oneHot, 0), [c, positions, positions]), [
      c * positions,
      1,
      kernel[0],
      kernel[1],
    ]);
    // Rows and columns past the last patch (fewer than a stride) get zero gradient: output padding.
    const reached = [0, 1].map(
      (i) => (out[i]! - 1) * stride[i]! - 2 * padding[i]! + dilation[i]! * (kernel[i]! - 1) + 1,
    );
    const gradInput = convTranspose2d(reshape(grad, [n, c * positions, out[0], out[1]]), kernels, null, {
      stride,
      padding,
      dilation,
      groups: c,
      outputPadding: [h - reached[0]!, w - reached[1]!],
    });
    return [gradInput, null, null];
  },
});
