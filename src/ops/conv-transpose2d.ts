import { formatShape } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { conv2d } from './conv2d.js';
import { convWeightGrad } from './helpers/conv-weight-grad.js';
import { expectFloat, expectInt, expectRank, expectSameDType, expectTensor, pair } from './helpers/checks.js';
import { cropTo } from './helpers/crop.js';
import { defineOp } from './registry.js';
import { sum } from './sum.js';

export interface ConvTranspose2dOptions {
  stride?: number | [number, number];
  /** Rows and columns removed from each side of the full transposed output (the forward conv's padding). */
  padding?: number | [number, number];
  /** Rows and columns added at the bottom and right; must be smaller than stride or dilation. */
  outputPadding?: number | [number, number];
  groups?: number;
  dilation?: number | [number, number];
}

interface ResolvedConvTranspose {
  stride: [number, number];
  padding: [number, number];
  outputPadding: [number, number];
  groups: number;
  dilation: [number, number];
}

function resolve(options: ConvTranspose2dOptions): ResolvedConvTranspose {
  const op = 'conv_transpose2d';
  const stride = pair(op, 'stride', options.stride ?? 1, 1);
  const dilation = pair(op, 'dilation', options.dilation ?? 1, 1);
  const outputPadding = pair(op, 'output_padding', options.outputPadding ?? 0, 0);
  if ([0, 1].some((i) => outputPadding[i]! >= stride[i]! && outputPadding[i]! >= dilation[i]!)) {
    throw new RangeError(
      `[${op}] output padding must be smaller than either stride or dilation, but got output_padding ` +
        `${formatShape(outputPadding)}, stride ${formatShape(stride)} and dilation ${formatShape(dilation)}`,
    );
  }
  return {
    stride,
    padding: pair(op, 'padding', options.padding ?? 0, 0),
    outputPadding,
    groups: expectInt(op, 'groups', options.groups ?? 1, 1),
    dilation,
  };
}

/**
 * The transposed 2-D convolution (the gradient of `conv2d` with respect to its input), with
 * PyTorch's `F.conv_transpose2d` arguments. The weight is (in_channels, out_channels / groups, kH, kW).
 * @example
 * F.convTranspose2d(zeros([1, 8, 4, 4]), randn([8, 3, 2, 2]), null, { stride: 2 }); // [1, 3, 8, 8]
 */
export const convTranspose2d = defineOp({
  name: 'conv_transpose2d',
  infer: (
    input: TensorMeta,
    weight: TensorMeta,
    bias: TensorMeta | null = null,
    options: ConvTranspose2dOptions = {},
  ): TensorMeta => {
    const op = 'conv_transpose2d';
    expectTensor(op, 'input', input);
    expectTensor(op, 'weight', weight);
    expectRank(op, 'input', input, [4], 'expected (N, C, H, W); add a batch dimension with unsqueeze(0)');
    expectRank(op, 'weight', weight, [4], 'expected (in_channels, out_channels / groups, kH, kW)');
    expectFloat(op, 'input', input);
    expectSameDType(op, { input, weight, bias });
    const { stride, padding, outputPadding, groups, dilation } = resolve(options);
    const [n, c, h, w] = input.shape as [number, number, number, number];
    const [inC, outPerGroup, kh, kw] = weight.shape as [number, number, number, number];
    if (c !== inC) {
      throw new RangeError(`[${op}] input has ${c} channels but weight ${formatShape(weight.shape)} expects ${inC}`);
    }
    if (inC % groups !== 0) throw new RangeError(`[${op}] in_channels ${inC} is not divisible by groups=${groups}`);
    const outC = outPerGroup * groups;
    if (bias !== null && bias !== undefined) {
      expectTensor(op, 'bias', bias);
      if (bias.shape.length !== 1 || bias.shape[0] !== outC) {
        throw new RangeError(`[${op}] bias must have shape [${outC}], got ${formatShape(bias.shape)}`);
      }
    }
    const out = (size: number, k: number, i: 0 | 1): number =>
      (size - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k - 1) + outputPadding[i] + 1;
    const oh = out(h, kh, 0);
    const ow = out(w, kw, 1);
    if (oh <= 0 || ow <= 0) {
      throw new RangeError(
        `[${op}] padding ${formatShape(padding)} leaves no output for input ${formatShape(input.shape)} and kernel ${kh}x${kw} (output would be ${oh}x${ow})`,
      );
    }
    return { dtype: input.dtype, shape: [n, outC, oh, ow] };
  },
  lower: (ctx, input, weight, bias = null, options = {}) => {
    const { stride, padding, outputPadding, groups, dilation } = resolve(options);
    const inputs = bias === null || bias === undefined ? [input, weight] : [input, weight, bias];
    return ctx.emit('ConvTranspose', inputs, {
      strides: stride,
      dilations: dilation,
      group: groups,
      pads: [padding[0], padding[1], padding[0], padding[1]],
      output_padding: outputPadding,
    });
  },
  // The transposed convolution's input gradient is the convolution it transposes; its weight
  // gradient is that convolution's, with the roles of input and output swapped.
  backward: ({ grad, args: [input, weight, bias, options], needs }) => {
    const { stride, padding, groups, dilation } = resolve(options ?? {});
    const [ph, pw] = padding;
    return [
      needs[0] ? cropTo(conv2d(grad, weight, null, { stride, padding, dilation, groups }), input.shape) : null,
      needs[1] ? convWeightGrad(grad, input, weight.shape, { stride, dilation, groups, pads: [ph, pw, ph, pw] }) : null,
      needs[2] === true && bias !== null && bias !== undefined ? sum(grad, [0, 2, 3]) : null,
    ];
  },
});
