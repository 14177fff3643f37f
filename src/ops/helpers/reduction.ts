/** Reductions over some dims (mean, sum, amax): PyTorch's `dim` and `keepdim`. */
import { isFloating } from '../../tensor/dtype.js';
import type { TensorMeta } from '../../tensor/tensor.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { LoweringContext, Value } from '../lowering.js';
import type { ArgumentGradients, Op } from '../op.js';
import { reshape } from '../reshape.js';
import { defineOp } from '../registry.js';
import { expectTensor } from './checks.js';
import { reducedShape, reductionAxes } from './dims.js';

export type Dim = number | readonly number[] | undefined;

/** What a reduction's backward rule gets: the gradient and output with the reduced axes kept (size 1). */
export interface ReductionGrad {
  grad: Tensor;
  input: Tensor;
  output: Tensor;
  axes: readonly number[];
}

/** `shape` with the reduced `axes` put back as size-1 dims. */
function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

export function defineReductionOp(
  name: string,
  lower: (ctx: LoweringContext, x: Value, axes: number[], keepdims: number) => string,
  options: { floatOnly?: boolean; backward?: (r: ReductionGrad) => Tensor } = {},
): Op<[TensorMeta, Dim?, boolean?], TensorMeta> {
  const rule = options.backward;
  return defineOp({
    name,
    infer: (x: TensorMeta, dim?: Dim, keepdim: boolean = false): TensorMeta => {
      expectTensor(name, 'input', x);
      if (options.floatOnly === true && !isFloating(x.dtype)) {
        throw new TypeError(`[${name}] needs a floating-point input, got ${x.dtype}; convert it with .to('float32')`);
      }
      const axes = reductionAxes(name, dim, x.shape.length);
      return { dtype: x.dtype, shape: reducedShape(x.shape, axes, keepdim) };
    },
    lower: (ctx, x, dim, keepdim = false) => lower(ctx, x, reductionAxes(name, dim, x.shape.length), keepdim ? 1 : 0),
    ...(rule === undefined
      ? {}
      : {
          backward: ({ grad, args: [x, dim], output }): ArgumentGradients => {
            const axes = reductionAxes(name, dim, x.shape.length);
            const kept = keptShape(x.shape, axes);
            return [rule({ grad: reshape(grad, kept), input: x, output: reshape(output, kept), axes })];
          },
        }),
  });
}
