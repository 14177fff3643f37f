/**
 * Loss modules, as torch.nn's: each holds its options (and weights, as buffers) and calls its
 * function from `F`.
 */
import {
  type BinaryCrossEntropyWithLogitsOptions,
  type CrossEntropyOptions,
  type Reduction,
  type SmoothL1LossOptions,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  mseLoss,
  smoothL1Loss,
} from '../../ops/losses/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';

abstract class Loss extends Module<[Tensor, Tensor], Tensor> {
  readonly reduction: Reduction;

  constructor(options: { reduction?: Reduction }) {
    super();
    this.reduction = options.reduction ?? 'mean';
  }

  override extraRepr(): string {
    return this.reduction === 'mean' ? '' : `reduction=${this.reduction}`;
  }
}

/**
 * `nn.CrossEntropyLoss`: `F.crossEntropy` with its options fixed; `weight` is a buffer.
 * @example
 * const criterion = new nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
 * const loss = criterion.call(randn([2, 5]), tensor([4, 0], { dtype: 'int64' })); // a 0-D tensor
 */
export class CrossEntropyLoss extends Loss {
  declare weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;

  constructor(options: CrossEntropyOptions = {}) {
    super(options);
    this.registerBuffer('weight', options.weight ?? null);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = options.labelSmoothing ?? 0;
  }

  forward(input: Tensor, target: Tensor): Tensor {
    const { weight, ignoreIndex, reduction, labelSmoothing } = this;
    return crossEntropy(input, target, { weight, ignoreIndex, reduction, labelSmoothing });
  }
}

/** `nn.MSELoss`: mean squared error. */
export class MSELoss extends Loss {
  constructor(options: { reduction?: Reduction } = {}) {
    super(options);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}

/** `nn.BCEWithLogitsLoss`: binary cross entropy on logits; `weight` and `pos_weight` are buffers. */
export class BCEWithLogitsLoss extends Loss {
  declare weight: Tensor | null;
  declare pos_weight: Tensor | null;

  constructor(options: BinaryCrossEntropyWithLogitsOptions = {}) {
    super(options);
    this.registerBuffer('weight', options.weight ?? null);
    this.registerBuffer('pos_weight', options.posWeight ?? null);
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, {
      weight: this.weight,
      posWeight: this.pos_weight,
      reduction: this.reduction,
    });
  }
}

/** `nn.SmoothL1Loss`: quadratic below `beta`, linear above. */
export class SmoothL1Loss extends Loss {
  readonly beta: number;

  constructor(options: SmoothL1LossOptions = {}) {
    super(options);
    this.beta = options.beta ?? 1;
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, { beta: this.beta, reduction: this.reduction });
  }
}

for (const layer of [CrossEntropyLoss, MSELoss, BCEWithLogitsLoss, SmoothL1Loss]) registerBuiltinLayer(layer);
