import type { TensorMeta } from '../tensor/tensor.js';
import { normalizeDim } from '../tensor/shape.js';
import { exp } from './exp.js';
import { expectFloat, expectTensor } from './helpers/checks.js';
import { mul } from './mul.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';
import { sub } from './sub.js';
import { sum } from './sum.js';

function inferSoftmax(name: string, x: TensorMeta, dim: number): TensorMeta {
  expectTensor(name, 'input', x);
  expectFloat(name, 'input', x);
  if (dim === undefined) throw new TypeError(`[${name}] dim is required, as in PyTorch (implicit dim is deprecated)`);
  normalizeDim(dim, x.shape.length, name);
  return { dtype: x.dtype, shape: x.shape };
}

/** Softmax along `dim`. */
export const softmax = defineOp({
  name: 'softmax',
  infer: (x: TensorMeta, dim: number) => inferSoftmax('softmax', x, dim),
  lower: (ctx, x, dim) => ctx.emit('Softmax', [x], { axis: normalizeDim(dim, x.shape.length, 'softmax') }),
  // y * (g - sum(g * y)) along dim
  backward: ({ grad, output, args: [, dim] }): ArgumentGradients => [
    mul(output, sub(grad, sum(mul(grad, output), dim, true))),
    null,
  ],
});

/** log(softmax(x)) along `dim`, computed stably. */
export const logSoftmax = defineOp({
  name: 'log_softmax',
  infer: (x: TensorMeta, dim: number) => inferSoftmax('log_softmax', x, dim),
  lower: (ctx, x, dim) => ctx.emit('LogSoftmax', [x], { axis: normalizeDim(dim, x.shape.length, 'log_softmax') }),
  // g - softmax * sum(g) along dim, with softmax = exp(output)
  backward: ({ grad, output, args: [, dim] }): ArgumentGradients => [
    sub(grad, mul(exp(output), sum(grad, dim, true))),
    null,
  ],
});
