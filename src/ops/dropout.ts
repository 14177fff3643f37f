import { AutogradError } from '../errors.js';
import { defaultGenerator } from '../tensor/generator.js';
import { numel } from '../tensor/shape.js';
import { Tensor, type TensorMeta } from '../tensor/tensor.js';
import { expectFloat, expectTensor } from './helpers/checks.js';
import { mul } from './mul.js';
import { to } from './to.js';
import { isTraced } from './tracing-hook.js';
import { defineOp } from './registry.js';

export interface DropoutOptions {
  /** Probability of zeroing an element (default 0.5). */
  p?: number;
  /** Dropout applies only in training (default true, as `F.dropout`). */
  training?: boolean;
}

function probability(options: DropoutOptions): number {
  const p = options.p ?? 0.5;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1))
    throw new RangeError(`[dropout] p must be in [0, 1], got ${String(p)}`);
  return p;
}

/** Whether the call zeroes a random part of x (else it is the identity, or zeros for p = 1). */
function drops(options: DropoutOptions, p: number): boolean {
  return options.training !== false && p > 0 && p < 1;
}

/**
 * Eager dropout: the mask (0, or 1/(1-p) for a kept element) is drawn from the project's
 * generator, as torch's bernoulli_, and applied with `mul`, so that autograd records the product
 * and its backward reuses the mask.
 */
function dropEagerly(x: Tensor, options: DropoutOptions = {}): Tensor | undefined {
  if (!(x instanceof Tensor) || isTraced(x)) return undefined;
  expectFloat('dropout', 'input', x);
  const p = probability(options);
  if (!drops(options, p)) return undefined;
  const keep = 1 - p;
  const mask = new Float32Array(numel(x.shape));
  for (let i = 0; i < mask.length; i++) mask[i] = defaultGenerator.uniform() < keep ? 1 / keep : 0;
  const maskTensor = new Tensor('float32', x.shape, mask);
  return mul(x, x.dtype === 'float32' ? maskTensor : to(maskTensor, x.dtype));
}

/**
 * Zeroes elements with probability p and scales the rest by 1/(1-p) in training; identity
 * otherwise. p = 1 gives zeros, as in PyTorch.
 */
export const dropout = defineOp({
  name: 'dropout',
  infer: (x: TensorMeta, options: DropoutOptions = {}): TensorMeta => {
    expectTensor('dropout', 'input', x);
    expectFloat('dropout', 'input', x);
    probability(options);
    return { dtype: x.dtype, shape: x.shape };
  },
  lower: (ctx, x, options = {}) => {
    const p = probability(options);
    if (options.training === false || p === 0) return ctx.emit('Identity', [x]);
    if (p === 1) {
      const zero = { tensor: { name: 'value', type: x.dtype, dims: [1], raw: new Uint8Array(4) } };
      return ctx.emit('ConstantOfShape', [ctx.emit('Shape', [x])], { value: zero });
    }
    const ratio = ctx.constant(p, 'float32');
    const training = ctx.constant(1, 'bool');
    return ctx.emitMulti('Dropout', [x, ratio, training], 2)[0]!;
  },
  direct: dropEagerly,
  // Eager random dropout never comes here (it is a `mul` by its mask); what does is the identity,
  // zeros (p = 1), or a lowered Dropout node, whose mask ONNX Runtime keeps to itself.
  backward: ({ grad, args: [, options = {}] }) => {
    const p = probability(options);
    if (!drops(options, p)) return [p === 1 && options.training !== false ? mul(grad, 0) : grad, null];
    throw new AutogradError(
      `[dropout] cannot differentiate dropout with p=${p} in a lowered graph: its random mask is not an ` +
        'output. Differentiate it eagerly (dropout then multiplies by a mask autograd keeps), or in eval mode',
    );
  },
});
