/**
 * Batch normalisation. PyTorch's `F.batch_norm` updates the running statistics in place during
 * training; tensors here are immutable, so the update is a separate op, `batch_norm_stats`, that
 * returns the new running mean and variance, and `BatchNorm2d` replaces its buffers with them.
 */
import { ONNX_TYPE_CODE } from '../runtime/onnx-model.js';
import { formatShape } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { add } from './add.js';
import type { LoweringContext, Value } from './lowering.js';
import { expectFloat, expectSameDType, expectTensor } from './helpers/checks.js';
import { type Standardized, standardize, standardizeBackward } from './helpers/normalization-gradients.js';
import { mul } from './mul.js';
import { pow } from './pow.js';
import { defineOp } from './registry.js';
import { reshape } from './reshape.js';
import { sub } from './sub.js';
import { sum } from './sum.js';

export interface BatchNormOptions {
  /** Normalise with the batch's statistics (true) or the running ones (false, default). */
  training?: boolean;
  eps?: number;
}

function checkChannels(op: string, x: TensorMeta, tensors: Record<string, TensorMeta | null | undefined>): void {
  expectTensor(op, 'input', x);
  expectFloat(op, 'input', x);
  if (x.shape.length < 2) throw new RangeError(`[${op}] input must be (N, C, ...), got shape ${formatShape(x.shape)}`);
  const c = x.shape[1];
  for (const [name, t] of Object.entries(tensors)) {
    if (t === null || t === undefined) continue;
    expectTensor(op, name, t);
    expectSameDType(op, { input: x, [name]: t });
    if (t.shape.length !== 1 || t.shape[0] !== c) {
      throw new RangeError(
        `[${op}] ${name} must have shape [${c}] for an input with ${c} channels, got ${formatShape(t.shape)}`,
      );
    }
  }
}

/** Per-channel parameters reshaped to broadcast over (N, C, ...). */
function perChannel(ctx: LoweringContext, v: Value | string, rank: number): string {
  return ctx.emit('Reshape', [v, ctx.int64s([1, -1, ...Array<number>(rank - 2).fill(1)])]);
}

function statAxes(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
}

/** A tensor of ones or zeros shaped like a 1-D value (for absent weight or bias). */
function filledLike(ctx: LoweringContext, like: Value, value: number): string {
  const raw = new Uint8Array(new Float32Array([value]).buffer);
  return ctx.emit('ConstantOfShape', [ctx.emit('Shape', [like])], {
    value: { tensor: { name: 'value', type: 'float32', dims: [1], raw } },
  });
}

export const batchNorm = defineOp({
  name: 'batch_norm',
  infer: (
    x: TensorMeta,
    runningMean: TensorMeta | null,
    runningVar: TensorMeta | null,
    weight: TensorMeta | null = null,
    bias: TensorMeta | null = null,
    options: BatchNormOptions = {},
  ): TensorMeta => {
    checkChannels('batch_norm', x, { runningMean, runningVar, weight, bias });
    if (options.training !== true && (runningMean === null || runningVar === null)) {
      throw new TypeError('[batch_norm] running_mean and running_var are required when not training');
    }
    return { dtype: x.dtype, shape: x.shape };
  },
  lower: (ctx, x, runningMean, runningVar, weight = null, bias = null, options = {}) => {
    const eps = options.eps ?? 1e-5;
    const rank = x.shape.length;
    if (options.training !== true) {
      const scale = weight ?? filledLike(ctx, runningMean!, 1);
      const shift = bias ?? filledLike(ctx, runningMean!, 0);
      if (rank === 4 || rank === 3) {
        return ctx.emit('BatchNormalization', [x, scale, shift, runningMean!, runningVar!], {
          epsilon: { float: eps },
        });
      }
    }
    // Batch statistics (or a rank BatchNormalization does not take): normalise explicitly.
    const axes = statAxes(rank);
    let mean: string;
    let variance: string;
    if (options.training === true) {
      mean = ctx.emit('ReduceMean', [x], { axes, keepdims: 1 });
      const centered = ctx.emit('Sub', [x, mean]);
      variance = ctx.emit('ReduceMean', [ctx.emit('Mul', [centered, centered])], { axes, keepdims: 1 });
    } else {
      mean = perChannel(ctx, runningMean!, rank);
      variance = perChannel(ctx, runningVar!, rank);
    }
    const denom = ctx.emit('Sqrt', [ctx.emit('Add', [variance, ctx.constant(eps, x.dtype)])]);
    let y = ctx.emit('Div', [ctx.emit('Sub', [x, mean]), denom]);
    if (weight !== null && weight !== undefined) y = ctx.emit('Mul', [y, perChannel(ctx, weight, rank)]);
    if (bias !== null && bias !== undefined) y = ctx.emit('Add', [y, perChannel(ctx, bias, rank)]);
    return y;
  },
  // The running statistics are buffers: like PyTorch, no gradient reaches them.
  backward: ({ grad, args: [x, runningMean, runningVar, weight, bias, options], needs }) => {
    const training = options?.training === true;
    const eps = options?.eps ?? 1e-5;
    const rank = x.shape.length;
    const axes = statAxes(rank);
    const channelShape = [1, -1, ...Array<number>(rank - 2).fill(1)];
    let normalized: Standardized;
    if (training) {
      normalized = standardize(x, axes, eps);
    } else {
      const invstd = reshape(pow(add(runningVar!, eps), -0.5), channelShape);
      normalized = { xhat: mul(sub(x, reshape(runningMean!, channelShape)), invstd), invstd };
    }
    const hasWeight = weight !== null && weight !== undefined;
    const gradXhat = hasWeight ? mul(grad, reshape(weight, channelShape)) : grad;
    let gradX = null;
    if (needs[0] === true) {
      gradX = training ? standardizeBackward(gradXhat, normalized, axes) : mul(gradXhat, normalized.invstd);
    }
    return [
      gradX,
      null,
      null,
      needs[3] === true && hasWeight ? sum(mul(grad, normalized.xhat), axes) : null,
      needs[4] === true && bias !== null && bias !== undefined ? sum(grad, axes) : null,
    ];
  },
});

/**
 * The running statistics after one training step: (1 - momentum) * running + momentum * batch,
 * with the batch variance unbiased (n / (n - 1)), as PyTorch updates them.
 */
export const batchNormStats = defineOp({
  name: 'batch_norm_stats',
  infer: (x: TensorMeta, runningMean: TensorMeta, runningVar: TensorMeta, momentum: number): TensorMeta[] => {
    checkChannels('batch_norm_stats', x, { runningMean, runningVar });
    if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) {
      throw new RangeError(`[batch_norm_stats] momentum must be in [0, 1], got ${String(momentum)}`);
    }
    const n = x.shape.reduce((a, d, i) => (i === 1 ? a : a * d), 1);
    if (n < 2)
      throw new RangeError(
        `[batch_norm] expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`,
      );
    return [runningMean, runningVar];
  },
  lower: (ctx, x, runningMean, runningVar, momentum) => {
    const rank = x.shape.length;
    const axes = statAxes(rank);
    const mean = ctx.emit('ReduceMean', [x], { axes, keepdims: 1 });
    const centered = ctx.emit('Sub', [x, mean]);
    const biased = ctx.emit('ReduceMean', [ctx.emit('Mul', [centered, centered])], { axes, keepdims: 0 });
    // n values per channel, counted in the graph so that one kernel (and one exported graph)
    // serves every batch and image size.
    const perChannel = ctx.emit('Div', [ctx.emit('Size', [x]), ctx.emit('Shape', [x], { start: 1, end: 2 })]);
    const n = ctx.emit('Cast', [perChannel], { to: ONNX_TYPE_CODE[x.dtype] });
    const bessel = ctx.emit('Div', [n, ctx.emit('Sub', [n, ctx.constant(1, x.dtype)])]);
    const unbiased = ctx.emit('Mul', [biased, bessel]);
    const batchMean = ctx.emit('ReduceMean', [x], { axes, keepdims: 0 });
    const blend = (running: Value, batch: string): string =>
      ctx.emit('Add', [
        ctx.emit('Mul', [running, ctx.constant(1 - momentum, x.dtype)]),
        ctx.emit('Mul', [batch, ctx.constant(momentum, x.dtype)]),
      ]);
    return [blend(runningMean, batchMean), blend(runningVar, unbiased)];
  },
  // Statistics for the next steps, not part of this step's loss (PyTorch updates them in place,
  // outside autograd).
  differentiable: false,
});
