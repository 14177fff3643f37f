import { formatShape, numel } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectFloat, expectInt, expectSameDType, expectTensor } from './helpers/checks.js';
import { standardize, standardizeBackward } from './helpers/normalization-gradients.js';
import { mul } from './mul.js';
import { defineOp } from './registry.js';
import { reshape } from './reshape.js';
import { sum } from './sum.js';

/** Normalises each group of channels over (C/G, ...), then scales per channel, as `F.group_norm`. */
export const groupNorm = defineOp({
  name: 'group_norm',
  infer: (
    x: TensorMeta,
    numGroups: number,
    weight: TensorMeta | null = null,
    bias: TensorMeta | null = null,
    _eps: number = 1e-5,
  ): TensorMeta => {
    expectTensor('group_norm', 'input', x);
    expectFloat('group_norm', 'input', x);
    expectSameDType('group_norm', { input: x, weight, bias });
    expectInt('group_norm', 'num_groups', numGroups, 1);
    const c = x.shape[1];
    if (x.shape.length < 2 || c === undefined || c % numGroups !== 0) {
      throw new RangeError(
        `[group_norm] channels of input ${formatShape(x.shape)} must be divisible by num_groups=${numGroups}`,
      );
    }
    for (const [name, t] of [
      ['weight', weight],
      ['bias', bias],
    ] as const) {
      if (t !== null && t !== undefined && (t.shape.length !== 1 || t.shape[0] !== c)) {
        throw new RangeError(`[group_norm] ${name} must have shape [${c}], got ${formatShape(t.shape)}`);
      }
    }
    return { dtype: x.dtype, shape: x.shape };
  },
  lower: (ctx, x, numGroups, weight = null, bias = null, eps = 1e-5) => {
    const rank = x.shape.length;
    const grouped = ctx.emit('Reshape', [x, ctx.int64s([0, numGroups, -1])]);
    const mean = ctx.emit('ReduceMean', [grouped], { axes: [2], keepdims: 1 });
    const centered = ctx.emit('Sub', [grouped, mean]);
    const variance = ctx.emit('ReduceMean', [ctx.emit('Mul', [centered, centered])], { axes: [2], keepdims: 1 });
    const normalized = ctx.emit('Div', [
      centered,
      ctx.emit('Sqrt', [ctx.emit('Add', [variance, ctx.constant(eps, x.dtype)])]),
    ]);
    let y = ctx.emit('Reshape', [normalized, ctx.emit('Shape', [x])]);
    const channelShape = ctx.int64s([1, -1, ...Array<number>(rank - 2).fill(1)]);
    if (weight !== null && weight !== undefined) y = ctx.emit('Mul', [y, ctx.emit('Reshape', [weight, channelShape])]);
    if (bias !== null && bias !== undefined) y = ctx.emit('Add', [y, ctx.emit('Reshape', [bias, channelShape])]);
    return y;
  },
  backward: ({ grad, args: [x, numGroups, weight, bias, eps], needs }) => {
    const rank = x.shape.length;
    const n = x.shape[0]!;
    const grouped = [n, numGroups, numel(x.shape) / (n * numGroups)];
    const normalized = standardize(reshape(x, grouped), [2], eps ?? 1e-5);
    const hasWeight = weight !== null && weight !== undefined;
    const channelAxes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
    const channelShape = [1, -1, ...Array<number>(rank - 2).fill(1)];
    const gradXhat = hasWeight ? mul(grad, reshape(weight, channelShape)) : grad;
    return [
      needs[0] === true
        ? reshape(standardizeBackward(reshape(gradXhat, grouped), normalized, [2]), [...x.shape])
        : null,
      null,
      needs[2] === true && hasWeight ? sum(mul(grad, reshape(normalized.xhat, [...x.shape])), channelAxes) : null,
      needs[3] === true && bias !== null && bias !== undefined ? sum(grad, channelAxes) : null,
      null,
    ];
  },
});
