import type { TensorMeta } from '../tensor/tensor.js';
import { normalizeDim } from '../tensor/shape.js';
import { expectFloat, expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

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
});

/** log(softmax(x)) along `dim`, computed stably. */
export const logSoftmax = defineOp({
  name: 'log_softmax',
  infer: (x: TensorMeta, dim: number) => inferSoftmax('log_softmax', x, dim),
  lower: (ctx, x, dim) => ctx.emit('LogSoftmax', [x], { axis: normalizeDim(dim, x.shape.length, 'log_softmax') }),
});
