import { defaultGenerator } from '../../tensor/generator.js';
import { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';
import { mul } from '../../ops/mul.js';

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
    if (!this.training || this.p === 0) return input;
    const survival = 1 - this.p;
    const shape =
      this.mode === 'row'
        ? [input.shape[0]!, ...Array<number>(input.shape.length - 1).fill(1)]
        : input.shape.map(() => 1);
    // The Bernoulli mask is data the op consumes, drawn like torch's bernoulli_.
    const count = shape.reduce((a, b) => a * b, 1);
    const noise = new Float32Array(count);
    for (let i = 0; i < count; i++)
      noise[i] = defaultGenerator.uniform() < survival ? (survival > 0 ? 1 / survival : 0) : 0;
    return mul(input, new Tensor('float32', shape, noise));
  }
}
