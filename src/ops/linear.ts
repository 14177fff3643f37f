import { formatShape, numel } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectFloat, expectRank, expectSameDType, expectTensor } from './helpers/checks.js';
import { matmul } from './matmul.js';
import { transpose } from './permute.js';
import { defineOp } from './registry.js';
import { reshape } from './reshape.js';
import { sum } from './sum.js';

/**
 * x W^T + b over the last dimension, as `F.linear`.
 * @example
 * F.linear(randn([2, 4]), randn([3, 4]), zeros([3])); // [2, 3]
 */
export const linear = defineOp({
  name: 'linear',
  infer: (x: TensorMeta, weight: TensorMeta, bias: TensorMeta | null = null): TensorMeta => {
    expectTensor('linear', 'input', x);
    expectTensor('linear', 'weight', weight);
    expectFloat('linear', 'input', x);
    expectSameDType('linear', { input: x, weight, bias });
    expectRank('linear', 'weight', weight, [2]);
    if (x.shape.length === 0) throw new RangeError('[linear] input must have at least one dimension');
    const [outF, inF] = weight.shape as [number, number];
    if (x.shape[x.shape.length - 1] !== inF) {
      throw new RangeError(
        `[linear] input ${formatShape(x.shape)} has ${x.shape[x.shape.length - 1]} features but weight ${formatShape(weight.shape)} expects ${inF}`,
      );
    }
    if (bias !== null && bias !== undefined && (bias.shape.length !== 1 || bias.shape[0] !== outF)) {
      throw new RangeError(`[linear] bias must have shape [${outF}], got ${formatShape(bias.shape)}`);
    }
    return { dtype: x.dtype, shape: [...x.shape.slice(0, -1), outF] };
  },
  lower: (ctx, x, weight, bias = null) => {
    const hasBias = bias !== null && bias !== undefined;
    // Gemm is the fast path for the common 2-D case.
    if (x.shape.length === 2) return ctx.emit('Gemm', hasBias ? [x, weight, bias] : [x, weight], { transB: 1 });
    const product = ctx.emit('MatMul', [x, ctx.emit('Transpose', [weight], { perm: [1, 0] })]);
    return hasBias ? ctx.emit('Add', [product, bias]) : product;
  },
  backward: ({ grad, args: [x, weight, bias], needs }) => {
    const [outF, inF] = weight.shape as [number, number];
    // The weight's gradient sums over every leading dim: flatten them into rows.
    const rows = numel(x.shape) / inF;
    const leading = x.shape.slice(0, -1).map((_, i) => i);
    return [
      needs[0] ? matmul(grad, weight) : null,
      needs[1] ? matmul(transpose(reshape(grad, [rows, outF]), 0, 1), reshape(x, [rows, inF])) : null,
      needs[2] === true && bias !== null && bias !== undefined
        ? leading.length === 0
          ? grad
          : sum(grad, leading)
        : null,
    ];
  },
});
