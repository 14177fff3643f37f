/** Parameter initialisation as PyTorch's layers do it (same distributions, our generator's numbers). */
import { type Generator, defaultGenerator } from '../tensor/generator.js';
import { numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

let skipping = false;

/**
 * Builds modules without drawing their random weights (they stay zero), as PyTorch's
 * `torch.nn.utils.skip_init`: for a model whose weights are loaded next, or whose graph alone is
 * needed. regnet_y_128gf's 645M parameters take tens of seconds to draw.
 * @example
 * const model = skipInit(() => getModel('resnet50'));
 * model.loadStateDict(loadWeights('resnet50-11ad3fa6.pth'), { assign: true }); // no second copy
 */
export function skipInit<T>(build: () => T): T {
  const previous = skipping;
  skipping = true;
  try {
    return build();
  } finally {
    skipping = previous;
  }
}

/** Uniform samples in [-bound, bound). */
export function uniform(shape: readonly number[], bound: number, generator: Generator = defaultGenerator): Tensor {
  const data = new Float32Array(numel(shape));
  if (skipping) return new Tensor('float32', shape, data);
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

/** fan_out of a weight: output features times the receptive field. */
export function fanOut(shape: readonly number[]): number {
  return (shape[0] ?? 1) * numel(shape.slice(2));
}

/** Normal samples with mean 0 and standard deviation `std`, redrawn outside [a, b] if given (trunc_normal_). */
export function normal(
  shape: readonly number[],
  std: number,
  bounds: [number, number] = [-Infinity, Infinity],
  generator: Generator = defaultGenerator,
): Tensor {
  const data = new Float32Array(numel(shape));
  if (skipping) return new Tensor('float32', shape, data);
  for (let i = 0; i < data.length; i++) {
    let v = generator.normal() * std;
    while (v < bounds[0] || v > bounds[1]) v = generator.normal() * std;
    data[i] = v;
  }
  return new Tensor('float32', shape, data);
}
