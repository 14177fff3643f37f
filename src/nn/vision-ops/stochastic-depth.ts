import { stochasticDepth } from '../../ops/stochastic-depth.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

/**
 * torchvision's StochasticDepth: in training, drops whole samples ('row') or the whole batch
 * ('batch') with probability p and rescales the rest; identity in eval.
 */
export class StochasticDepth extends Module<[Tensor], Tensor> {
  constructor(
    readonly p: number,
    readonly mode: 'row' | 'batch',
  ) {
    super();
    if (!(p >= 0 && p <= 1))
      throw new RangeError(`[StochasticDepth] drop probability has to be between 0 and 1, but got ${p}`);
    if (mode !== 'row' && mode !== 'batch')
      throw new RangeError(`[StochasticDepth] mode has to be either 'batch' or 'row', but got ${String(mode)}`);
  }

  forward(input: Tensor): Tensor {
    return stochasticDepth(input, this.p, this.mode, this.training);
  }
}
