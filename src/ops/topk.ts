import { normalizeDim } from '../tensor/shape.js';
import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import { describe, expectTensor } from './helpers/checks.js';
import { newZeros } from './new-zeros.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';
import { scatterAdd } from './scatter-add.js';

export interface TopkOptions {
  /** The dim to select along (default -1, the last). */
  dim?: number;
  /** The largest values (default) or the smallest. */
  largest?: boolean;
  /** Whether the k values come in order (largest first when `largest`); default true. */
  sorted?: boolean;
}

/** The axis topk selects along, after torch's checks of k. */
function checkedAxis(x: TensorMeta, k: number, options: TopkOptions): number {
  if (typeof k !== 'number' || !Number.isInteger(k))
    throw new TypeError(`[topk] k must be an integer, got ${describe(k)}`);
  const axis = normalizeDim(options.dim ?? -1, x.shape.length, 'topk');
  const size = x.shape[axis]!;
  if (k < 0 || k > size) {
    throw new RangeError(
      `[topk] selected index k out of range: k is ${k} but dimension ${axis} has size ${size}; ` +
        `k must be between 0 and ${size}`,
    );
  }
  return axis;
}

function infer(x: TensorMeta, k: number, options: TopkOptions = {}): TensorMeta[] {
  expectTensor('topk', 'input', x);
  if (x.shape.length === 0)
    throw new RangeError('[topk] input must have at least one dim, got a 0-D tensor; use x.reshape([1])');
  const axis = checkedAxis(x, k, options);
  const shape = x.shape.map((d, i) => (i === axis ? k : d));
  return [
    { dtype: x.dtype, shape },
    { dtype: 'int64', shape },
  ];
}

const topkOp = defineOp({
  name: 'topk',
  infer,
  lower: (ctx, x, k, options = {}) => {
    const axis = normalizeDim(options.dim ?? -1, x.shape.length, 'topk');
    const attributes = {
      axis,
      largest: options.largest === false ? 0 : 1,
      sorted: options.sorted === false ? 0 : 1,
    };
    return ctx.emitMulti('TopK', [x, ctx.int64s([k])], 2, attributes);
  },
  backward: ({ grad: [gradValues], args: [x, , options = {}], output: [, indices] }): ArgumentGradients => {
    const axis = normalizeDim(options.dim ?? -1, x.shape.length, 'topk');
    return [scatterAdd(newZeros(gradValues!, [...x.shape]), axis, indices!, gradValues!), null, null];
  },
});

/** `topk`'s call, typed as a pair for destructuring (an op's list result is typed as a list). */
export type TopkFunction = (input: Tensor, k: number, options?: TopkOptions) => [Tensor, Tensor];

/**
 * The `k` largest (or smallest) elements along a dim, as `torch.topk`: [values, indices], indices
 * int64. Among equal values ONNX Runtime gives the lower index first (torch leaves ties unordered).
 * The gradient goes to the selected elements.
 * @example
 * const [values, indices] = F.topk(tensor([1, 5, 3]), 2); // [5, 3], [1, 2]
 */
export const topk = topkOp as TopkFunction & typeof topkOp;
