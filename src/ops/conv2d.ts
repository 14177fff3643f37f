import type { TensorMeta } from '../tensor/tensor.js';
import { type Shape, formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { convTranspose2d } from './conv-transpose2d.js';
import { convWeightGrad } from './helpers/conv-weight-grad.js';
import { cropTo } from './helpers/crop.js';
import { expectFloat, expectInt, expectRank, expectSameDType, expectTensor, pair } from './helpers/checks.js';
import type { LoweringContext, Value } from './lowering.js';
import { defineOp } from './registry.js';
import { sum } from './sum.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  /** Zero padding per side, or 'same' (output size = input size; stride 1 only) or 'valid' (none). */
  padding?: number | [number, number] | 'same' | 'valid';
  dilation?: number | [number, number];
  groups?: number;
}

interface ResolvedConv {
  stride: [number, number];
  dilation: [number, number];
  groups: number;
  /** ONNX order: [top, left, bottom, right]. */
  pads: [number, number, number, number];
  same: boolean;
}

/** `kernel` is [kH, kW]; it is only needed, and only read, for padding='same'. */
function resolve(kernel: readonly unknown[], options: Conv2dOptions): ResolvedConv {
  const stride = pair('conv2d', 'stride', options.stride ?? 1, 1);
  const dilation = pair('conv2d', 'dilation', options.dilation ?? 1, 1);
  const groups = expectInt('conv2d', 'groups', options.groups ?? 1, 1);
  const padding = options.padding ?? 0;
  let pads: [number, number, number, number];
  if (padding === 'valid') {
    pads = [0, 0, 0, 0];
  } else if (padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1)
      throw new RangeError("[conv2d] padding='same' is not supported for strided convolutions");
    // PyTorch puts the odd pixel of padding at the end (bottom/right).
    const total = [0, 1].map((i) => dilation[i]! * ((kernel[i] as number) - 1));
    pads = [
      Math.floor(total[0]! / 2),
      Math.floor(total[1]! / 2),
      total[0]! - Math.floor(total[0]! / 2),
      total[1]! - Math.floor(total[1]! / 2),
    ];
  } else {
    const [ph, pw] = pair('conv2d', 'padding', padding, 0);
    pads = [ph, pw, ph, pw];
  }
  return { stride, dilation, groups, pads, same: padding === 'same' };
}

/**
 * The input padded for a dilated 'same' convolution, which ONNX Runtime's SAME_UPPER refuses:
 * dilation * (k - 1) in all, the odd pixel at the end, computed from the weight's shape in the
 * graph so that one kernel still serves every weight size.
 */
function padSameDilated(ctx: LoweringContext, input: Value, weight: Value, dilation: [number, number]): string {
  const kernel = ctx.emit('Shape', [weight], { start: 2, end: 4 });
  const total = ctx.emit('Mul', [ctx.emit('Sub', [kernel, ctx.int64s([1, 1])]), ctx.int64s(dilation)]);
  const begin = ctx.emit('Div', [total, ctx.int64s([2, 2])]);
  const end = ctx.emit('Sub', [total, begin]);
  const pads = ctx.emit('Concat', [ctx.int64s([0, 0]), begin, ctx.int64s([0, 0]), end], { axis: 0 });
  return ctx.emit('Pad', [input, pads], { mode: 'constant' });
}

/**
 * The gradient of the input: the transposed convolution, padded at the start as the forward was.
 * Its output padding restores the rows and columns a stride skipped at the end; extra ones (the
 * odd end pixel of 'same' padding, which the transposed convolution cannot leave out) are cropped.
 */
function convInputGrad(grad: Tensor, weight: Tensor, inputShape: Shape, conv: ResolvedConv): Tensor {
  const { stride, dilation, groups, pads } = conv;
  const full = [0, 1].map(
    (i) => (grad.shape[2 + i]! - 1) * stride[i]! - 2 * pads[i]! + dilation[i]! * (weight.shape[2 + i]! - 1) + 1,
  );
  const outputPadding = [0, 1].map((i) => Math.max(0, inputShape[2 + i]! - full[i]!)) as [number, number];
  const transposed = convTranspose2d(grad, weight, null, {
    stride,
    padding: [pads[0], pads[1]],
    outputPadding,
    groups,
    dilation,
  });
  return cropTo(transposed, inputShape);
}

/**
 * 2-D convolution over an NCHW input, with PyTorch's `F.conv2d` arguments.
 * @example
 * const y = F.conv2d(zeros([1, 3, 8, 8]), randn([16, 3, 3, 3]), null, { padding: 1 }); // [1, 16, 8, 8]
 */
export const conv2d = defineOp({
  name: 'conv2d',
  infer: (
    input: TensorMeta,
    weight: TensorMeta,
    bias: TensorMeta | null = null,
    options: Conv2dOptions = {},
  ): TensorMeta => {
    expectTensor('conv2d', 'input', input);
    expectTensor('conv2d', 'weight', weight);
    expectRank('conv2d', 'input', input, [4], 'expected (N, C, H, W); add a batch dimension with unsqueeze(0)');
    expectRank('conv2d', 'weight', weight, [4], 'expected (out_channels, in_channels / groups, kH, kW)');
    expectFloat('conv2d', 'input', input);
    expectSameDType('conv2d', { input, weight, bias });
    const { stride, dilation, groups, pads } = resolve(weight.shape.slice(2), options);
    const [n, c, h, w] = input.shape as [number, number, number, number];
    const [outC, inPerGroup, kh, kw] = weight.shape as [number, number, number, number];
    if (c !== inPerGroup * groups) {
      throw new RangeError(
        `[conv2d] input has ${c} channels but weight ${formatShape(weight.shape)} with groups=${groups} expects ${inPerGroup * groups}`,
      );
    }
    if (outC % groups !== 0) throw new RangeError(`[conv2d] out_channels ${outC} is not divisible by groups=${groups}`);
    if (bias !== null && bias !== undefined) {
      expectTensor('conv2d', 'bias', bias);
      if (bias.shape.length !== 1 || bias.shape[0] !== outC) {
        throw new RangeError(`[conv2d] bias must have shape [${outC}], got ${formatShape(bias.shape)}`);
      }
    }
    const out = (size: number, k: number, i: 0 | 1): number =>
      Math.floor((size + pads[i] + pads[i + 2]! - dilation[i] * (k - 1) - 1) / stride[i]) + 1;
    const oh = out(h, kh, 0);
    const ow = out(w, kw, 1);
    if (oh <= 0 || ow <= 0) {
      throw new RangeError(
        `[conv2d] input ${formatShape(input.shape)} is too small for kernel ${kh}x${kw} (output would be ${oh}x${ow})`,
      );
    }
    return { dtype: input.dtype, shape: [n, outC, oh, ow] };
  },
  lower: (ctx, input, weight, bias = null, options = {}) => {
    const { stride, dilation, groups, pads, same } = resolve([], options);
    const dilated = dilation[0] !== 1 || dilation[1] !== 1;
    const padded = same && dilated ? padSameDilated(ctx, input, weight, dilation) : input;
    const inputs = bias === null || bias === undefined ? [padded, weight] : [padded, weight, bias];
    // 'same' (stride 1) is ONNX's SAME_UPPER, which, like PyTorch, pads the odd pixel at the end;
    // it lets one kernel serve every weight size.
    const padding = !same ? { pads } : dilated ? {} : { auto_pad: 'SAME_UPPER' };
    return ctx.emit('Conv', inputs, { strides: stride, dilations: dilation, group: groups, ...padding });
  },
  backward: ({ grad, args: [input, weight, bias, options], needs }) => {
    const conv = resolve(weight.shape.slice(2), options ?? {});
    return [
      needs[0] ? convInputGrad(grad, weight, input.shape, conv) : null,
      needs[1] ? convWeightGrad(input, grad, weight.shape, conv) : null,
      needs[2] === true && bias !== null && bias !== undefined ? sum(grad, [0, 2, 3]) : null,
    ];
  },
});
