/** Reductions over some dims (mean, sum, amax): PyTorch's `dim` and `keepdim`. */
import { isFloating } from '../../tensor/dtype.js';
import type { TensorMeta } from '../../tensor/tensor.js';
import type { LoweringContext, Value } from '../lowering.js';
import { defineOp } from '../registry.js';
import { expectTensor } from './checks.js';
import { reducedShape, reductionAxes } from './dims.js';

export type Dim = number | readonly number[] | undefined;

export function defineReductionOp(
  name: string,
  lower: (ctx: LoweringContext, x: Value, axes: number[], keepdims: number) => string,
  options: { floatOnly?: boolean } = {},
) {
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
  });
}
