/** Parameter initialisation as PyTorch's layers do it (same distributions, our generator's numbers). */
import { type Generator, defaultGenerator } from '../tensor/generator.js';
import { numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Uniform samples in [-bound, bound). */
export function uniform(shape: readonly number[], bound: number, generator: Generator = defaultGenerator): Tensor {
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = (generator.uniform() * 2 - 1) * bound;
  return new Tensor('float32', shape, data);
}

/** fan_in of a weight: input features times the receptive field. */
export function fanIn(shape: readonly number[]): number {
  return (shape[1] ?? 1) * numel(shape.slice(2));
}

/**
 * PyTorch's default for Conv and Linear weights, kaiming_uniform(a = sqrt(5)), whose bound comes
 * to 1 / sqrt(fan_in); their biases use the same bound.
 */
export function defaultWeight(shape: readonly number[]): Tensor {
  return uniform(shape, 1 / Math.sqrt(Math.max(1, fanIn(shape))));
}

export function defaultBias(size: number, weightShape: readonly number[]): Tensor {
  return uniform([size], 1 / Math.sqrt(Math.max(1, fanIn(weightShape))));
}
