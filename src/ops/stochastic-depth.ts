import { AutogradError } from '../errors.js';
import { ONNX_TYPE_CODE } from '../runtime/onnx-model.js';
import { defaultGenerator } from '../tensor/generator.js';
import { numel } from '../tensor/shape.js';
import { Tensor, type TensorMeta } from '../tensor/tensor.js';
import { expectFloat, expectTensor } from './helpers/checks.js';
import { mul } from './mul.js';
import { to } from './to.js';
import { isTraced } from './tracing-hook.js';
import { defineOp } from './registry.js';

export type StochasticDepthMode = 'row' | 'batch';

function checkArguments(p: number, mode: StochasticDepthMode): void {
  if (!(p >= 0 && p <= 1))
    throw new RangeError(`[stochastic_depth] drop probability has to be between 0 and 1, but got ${p}`);
  if (mode !== 'row' && mode !== 'batch') {
    throw new RangeError(`[stochastic_depth] mode has to be either 'batch' or 'row', but got ${String(mode)}`);
  }
}

/** Whether the call drops anything at random (else it is the identity, or zeros for p = 1). */
function drops(p: number, training: boolean): boolean {
  return training && p > 0 && p < 1;
}

/** The mask's shape: one value per sample ('row') or one for the whole batch. */
function maskShape(shape: readonly number[], mode: StochasticDepthMode): number[] {
  return mode === 'row' ? [shape[0]!, ...shape.slice(1).map(() => 1)] : shape.map(() => 1);
}

/**
 * Eagerly, the mask (0, or 1/(1-p) for a kept sample) is drawn from the project's generator, as
 * torch's bernoulli_, and applied with `mul`, so that autograd records the product.
 */
function dropEagerly(x: Tensor, p: number, mode: StochasticDepthMode, training = true): Tensor | undefined {
  if (!(x instanceof Tensor) || isTraced(x)) return undefined;
  checkArguments(p, mode);
  // As torchvision: the input itself when nothing is dropped.
  if (!training || p === 0) return x;
  if (!drops(p, training)) return undefined;
  const survival = 1 - p;
  const shape = maskShape(x.shape, mode);
  const noise = new Float32Array(numel(shape));
  for (let i = 0; i < noise.length; i++) noise[i] = defaultGenerator.uniform() < survival ? 1 / survival : 0;
  const mask = new Tensor('float32', shape, noise);
  return mul(x, x.dtype === 'float32' ? mask : to(mask, x.dtype));
}

/**
 * torchvision's `stochastic_depth`: in training, zeroes whole samples ('row') or the whole batch
 * ('batch') with probability p and scales the rest by 1/(1-p); the identity otherwise. Lowered,
 * the mask comes from ONNX's RandomUniformLike, drawn anew on every run.
 * @example
 * F.stochasticDepth(randn([4, 8, 2, 2]), 0.1, 'row', true); // each sample kept (×1/0.9) or zeroed
 */
export const stochasticDepth = defineOp({
  name: 'stochastic_depth',
  infer: (x: TensorMeta, p: number, mode: StochasticDepthMode, _training = true): TensorMeta => {
    expectTensor('stochastic_depth', 'input', x);
    expectFloat('stochastic_depth', 'input', x);
    checkArguments(p, mode);
    return { dtype: x.dtype, shape: x.shape };
  },
  direct: dropEagerly,
  lower: (ctx, x, p, mode, training = true) => {
    if (!drops(p, training)) {
      return p === 1 && training ? ctx.emit('Mul', [x, ctx.constant(0, x.dtype)]) : ctx.emit('Identity', [x]);
    }
    const survival = 1 - p;
    const rank = x.shape.length;
    // The mask's shape, computed from x's so that the batch size stays dynamic.
    const shape =
      mode === 'row'
        ? ctx.emit(
            'Concat',
            [
              ctx.emit('Slice', [ctx.emit('Shape', [x]), ctx.int64s([0]), ctx.int64s([1])]),
              ctx.int64s(Array<number>(rank - 1).fill(1)),
            ],
            { axis: 0 },
          )
        : ctx.int64s(Array<number>(rank).fill(1));
    const uniform = ctx.emit('RandomUniformLike', [ctx.emit('ConstantOfShape', [shape])], {
      dtype: ONNX_TYPE_CODE[x.dtype],
    });
    const kept = ctx.emit('Cast', [ctx.emit('Less', [uniform, ctx.constant(survival, x.dtype)])], {
      to: ONNX_TYPE_CODE[x.dtype],
    });
    return ctx.emit('Mul', [x, ctx.emit('Mul', [kept, ctx.constant(1 / survival, x.dtype)])]);
  },
  // Eager random drops never come here (they are a `mul` by their mask); what does is the
  // identity, zeros (p = 1), or a lowered RandomUniformLike whose mask ONNX Runtime keeps to itself.
  backward: ({ grad, args: [, p, , training = true] }) => {
    if (!drops(p, training)) return [p === 1 && training ? mul(grad, 0) : grad, null, null, null];
    throw new AutogradError(
      `[stochastic_depth] cannot differentiate stochastic depth with p=${p} in a lowered graph: its random mask ` +
        'is not an output. Differentiate it eagerly, or in eval mode',
    );
  },
});
