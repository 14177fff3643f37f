import { isTraced } from '../tracing-hook.js';
import { arange } from '../../tensor/creation.js';
import { isFloating } from '../../tensor/dtype.js';
import { formatShape, numel } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { add } from '../add.js';
import { div } from '../div.js';
import { eq } from '../eq.js';
import { expectFloat, expectTensor } from '../helpers/checks.js';
import { mul } from '../mul.js';
import { ne } from '../ne.js';
import { neg } from '../neg.js';
import { reshape } from '../reshape.js';
import { logSoftmax } from '../softmax.js';
import { sum } from '../sum.js';
import { to } from '../to.js';
import { unsqueeze } from '../unsqueeze.js';
import { type Reduction, checkReduction } from './reduction.js';

export interface CrossEntropyOptions {
  /** A weight per class (a 1-D tensor of C elements). */
  weight?: Tensor | null;
  /** Class-index targets equal to this add nothing to the loss or to the mean's denominator. */
  ignoreIndex?: number;
  reduction?: Reduction;
  /** Mixes the target with the uniform distribution: (1 - ε)·target + ε/C. */
  labelSmoothing?: number;
}

const NAME = 'cross_entropy';

/**
 * Cross entropy of softmax(input) along the class dim (dim 1, or 0 for one unbatched sample), as
 * `F.cross_entropy`. `target` holds int64 class indices of the input's shape without the class
 * dim, or float class probabilities of the input's shape.
 * @example
 * const loss = F.crossEntropy(randn([3, 5]), tensor([0, 3, 1], { dtype: 'int64' })); // mean over the 3 samples
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  expectFloat(NAME, 'input', expectTensor(NAME, 'input', input));
  expectTensor(NAME, 'target', target);
  if (input.shape.length === 0) throw new RangeError(`[${NAME}] input must have a class dim, got a 0-D tensor`);
  const reduction = checkReduction(NAME, options.reduction ?? 'mean');
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) {
    throw new RangeError(`[${NAME}] label_smoothing must be between 0.0 and 1.0. Got: ${smoothing}`);
  }
  const classDim = input.shape.length === 1 ? 0 : 1;
  const classes = input.shape[classDim]!;
  // Per-class values laid out along the class dim, to broadcast against the input.
  const classShape = [classes, ...input.shape.slice(classDim + 1).map(() => 1)];
  const weight = options.weight ?? null;
  if (weight !== null && (weight.shape.length !== 1 || weight.shape[0] !== classes)) {
    throw new RangeError(
      `[${NAME}] weight tensor should be defined either for all ${classes} classes or no classes but got weight ` +
        `tensor of shape: ${formatShape(weight.shape)}`,
    );
  }
  const perClass = weight === null ? null : reshape(weight, classShape);
  const logProbabilities = logSoftmax(input, classDim);
  const args = { logProbabilities, classDim, classes, classShape, perClass, smoothing, reduction };
  return isFloating(target.dtype)
    ? probabilityTargetLoss(target, input, args)
    : classIndexLoss(target, input, options.ignoreIndex ?? -100, args);
}

interface LossArgs {
  logProbabilities: Tensor;
  classDim: number;
  classes: number;
  classShape: number[];
  perClass: Tensor | null;
  smoothing: number;
  reduction: Reduction;
}

/** -Σ_c w_c·logp_c along the class dim: the loss against the uniform distribution, times C. */
function uniformTargetLoss({ logProbabilities, perClass, classDim }: LossArgs): Tensor {
  return neg(sum(perClass === null ? logProbabilities : mul(logProbabilities, perClass), classDim));
}

function classIndexLoss(target: Tensor, input: Tensor, ignoreIndex: number, args: LossArgs): Tensor {
  const { logProbabilities, classDim, classes, classShape, perClass, smoothing, reduction } = args;
  const expected = input.shape.filter((_, i) => i !== classDim);
  if (target.dtype !== 'int64') {
    throw new TypeError(`[${NAME}] class-index targets must be int64, got ${target.dtype}; convert with .to('int64')`);
  }
  if (target.shape.join() !== expected.join()) {
    throw new RangeError(
      `[${NAME}] target of shape ${formatShape(target.shape)} does not match input of shape ` +
        `${formatShape(input.shape)}: class indices need shape ${formatShape(expected)}`,
    );
  }
  checkTargetBounds(target, classes, ignoreIndex);
  // One-hot of the targets along the class dim (ignored targets match no class, or are masked).
  const oneHot = to(eq(reshape(arange(classes), classShape), unsqueeze(target, classDim)), input.dtype);
  const kept = to(ne(target, ignoreIndex), input.dtype);
  const sampleWeight = perClass === null ? kept : mul(sum(mul(oneHot, perClass), classDim), kept);
  let loss = mul(neg(sum(mul(oneHot, logProbabilities), classDim)), sampleWeight);
  if (smoothing > 0) {
    const uniform = mul(uniformTargetLoss(args), kept);
    loss = add(mul(loss, 1 - smoothing), mul(uniform, smoothing / classes));
  }
  if (reduction === 'none') return loss;
  // The mean is weighted: divided by the total weight of the targets not ignored, as PyTorch's.
  return reduction === 'sum' ? sum(loss) : div(sum(loss), sum(sampleWeight));
}

function probabilityTargetLoss(target: Tensor, input: Tensor, args: LossArgs): Tensor {
  const { logProbabilities, classDim, classes, perClass, smoothing, reduction } = args;
  if (target.shape.join() !== input.shape.join()) {
    throw new RangeError(
      `[${NAME}] probability target of shape ${formatShape(target.shape)} must have the input's shape ` +
        `${formatShape(input.shape)}`,
    );
  }
  const probabilities = smoothing > 0 ? add(mul(target, 1 - smoothing), smoothing / classes) : target;
  const weighted = perClass === null ? probabilities : mul(probabilities, perClass);
  const loss = neg(sum(mul(logProbabilities, weighted), classDim));
  if (reduction === 'none') return loss;
  // The mean is over samples (elements without the class dim), not weighted.
  return reduction === 'sum' ? sum(loss) : div(sum(loss), numel(loss.shape));
}

/** PyTorch refuses class indices outside [0, C) other than ignoreIndex; checked on real data only. */
function checkTargetBounds(target: Tensor, classes: number, ignoreIndex: number): void {
  // Traced and lowered stand-ins have Tensor's methods but no data.
  if (!(target instanceof Tensor) || isTraced(target)) return;
  for (const value of target.data as BigInt64Array) {
    const index = Number(value);
    if (index !== ignoreIndex && (index < 0 || index >= classes)) {
      throw new RangeError(
        `[${NAME}] Target ${index} is out of bounds: class indices must be in [0, ${classes - 1}] or the ` +
          `ignoreIndex (${ignoreIndex})`,
      );
    }
  }
}
