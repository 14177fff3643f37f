import type { Tensor } from '../../tensor/tensor.js';
import { abs } from '../abs.js';
import { add } from '../add.js';
import { exp } from '../exp.js';
import { expectFloat, expectTensor } from '../helpers/checks.js';
import { log } from '../log.js';
import { mul } from '../mul.js';
import { neg } from '../neg.js';
import { relu } from '../relu.js';
import { sub } from '../sub.js';
import { type Reduction, checkReduction, reduce } from './reduction.js';

export interface BinaryCrossEntropyWithLogitsOptions {
  /** Rescales each element's loss; broadcasts with the input. */
  weight?: Tensor | null;
  /** Weight of the positive term, per class (broadcast along the last dim): > 1 raises recall. */
  posWeight?: Tensor | null;
  reduction?: Reduction;
}

/**
 * Binary cross entropy of sigmoid(input) against `target` (probabilities in [0, 1]), as
 * `F.binary_cross_entropy_with_logits`, computed without forming the sigmoid:
 * (1 - t)·x + w⁺·softplus(-x), where w⁺ = 1 + (posWeight - 1)·t and
 * softplus(-x) = relu(-x) + log(1 + exp(-|x|)) never overflows.
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  options: BinaryCrossEntropyWithLogitsOptions = {},
): Tensor {
  const name = 'binary_cross_entropy_with_logits';
  expectFloat(name, 'input', expectTensor(name, 'input', input));
  expectFloat(name, 'target', expectTensor(name, 'target', target));
  if (target.shape.join() !== input.shape.join()) {
    throw new RangeError(
      `[${name}] Target size ([${target.shape.join(', ')}]) must be the same as input size ` +
        `([${input.shape.join(', ')}]); reshape the target to the input's shape`,
    );
  }
  const reduction = checkReduction(name, options.reduction ?? 'mean');
  const softplusOfNegative = add(relu(neg(input)), log(add(exp(neg(abs(input))), 1)));
  const positiveWeight = options.posWeight ? add(mul(sub(options.posWeight, 1), target), 1) : null;
  let loss = add(
    mul(sub(1, target), input),
    positiveWeight ? mul(positiveWeight, softplusOfNegative) : softplusOfNegative,
  );
  if (options.weight) loss = mul(loss, options.weight);
  return reduce(loss, reduction);
}
