/**
 * torchvision's weight initialisation, family by family, for models built with random weights
 * (a checkpoint loaded afterwards replaces all of it). Norm layers already start at weight 1 and
 * bias 0, as torchvision sets them.
 */
import { Conv2d } from '../nn/layers/conv.js';
import { Linear } from '../nn/layers/linear.js';
import { fanIn, fanOut, normal, uniform } from '../nn/init.js';
import type { Module } from '../nn/module.js';
import { zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** A new weight for a layer, given its shape (and the layer, for schemes that single one out). */
export type WeightInit = (shape: readonly number[], layer: Conv2d | Linear) => Tensor;

/** kaiming_normal_ with a ReLU gain: std sqrt(2 / fan). */
export const kaimingNormal =
  (mode: 'fanIn' | 'fanOut'): WeightInit =>
  (shape) =>
    normal(shape, Math.sqrt(2 / (mode === 'fanIn' ? fanIn(shape) : fanOut(shape))));

export const normalStd =
  (std: number): WeightInit =>
  (shape) =>
    normal(shape, std);

/** trunc_normal_(std, a=-2, b=2). */
export const truncNormal =
  (std: number): WeightInit =>
  (shape) =>
    normal(shape, std, [-2, 2]);

export const uniformBound =
  (bound: (shape: readonly number[]) => number): WeightInit =>
  (shape) =>
    uniform(shape, bound(shape));

/** What a family sets; a layer kind without an init keeps PyTorch's default for that layer. */
export interface InitScheme {
  conv?: WeightInit;
  linear?: WeightInit;
  zeroConvBias?: boolean;
  zeroLinearBias?: boolean;
}

/** Applies `scheme` to every Conv2d and Linear of `model`, in module order. */
export function initWeights<M extends Module>(model: M, scheme: InitScheme): M {
  for (const m of model.modules()) {
    if (!(m instanceof Conv2d || m instanceof Linear)) continue;
    const init = m instanceof Conv2d ? scheme.conv : scheme.linear;
    if (init !== undefined) m.weight = init(m.weight.shape, m);
    const zeroBias = m instanceof Conv2d ? scheme.zeroConvBias : scheme.zeroLinearBias;
    if (zeroBias === true && m.bias !== null) m.bias = zeros(m.bias.shape);
  }
  return model;
}
