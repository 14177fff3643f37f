/** torchvision.ops modules, which torchvision's feature extraction treats as leaves by default. */
import type { Module } from '../module.js';
import { Conv2dNormActivation } from './conv2d-norm-activation.js';
import { FeaturePyramidNetwork } from './feature-pyramid-network.js';
import { FrozenBatchNorm2d } from './frozen-batch-norm.js';
import { MLP } from './mlp.js';
import { MultiScaleRoIAlign } from './poolers.js';
import { Permute } from './permute.js';
import { SqueezeExcitation } from './squeeze-excitation.js';
import { StochasticDepth } from './stochastic-depth.js';

export {
  batchedNms,
  batchedNmsCoordinateTrick,
  batchedNmsVanilla,
  boxArea,
  boxIou,
  clipBoxesToImage,
  removeSmallBoxes,
  wherePositions,
} from './boxes.js';
export { Conv2dNormActivation, type Conv2dNormActivationOptions } from './conv2d-norm-activation.js';
export { FeaturePyramidNetwork, LastLevelMaxPool, ExtraFPNBlock } from './feature-pyramid-network.js';
export { FrozenBatchNorm2d } from './frozen-batch-norm.js';
export { MLP, type MLPOptions } from './mlp.js';
export { Permute } from './permute.js';
export {
  LevelMapper,
  MultiScaleRoIAlign,
  initLevelMapper,
  type MultiScaleRoIAlignOptions,
} from './poolers.js';
export { SqueezeExcitation } from './squeeze-excitation.js';
export { StochasticDepth } from './stochastic-depth.js';

/** The classes torchvision's `_get_leaf_modules_for_ops()` lists (of those featurefx has). */
export const TORCHVISION_OPS_LEAF_MODULES: readonly (abstract new (...args: never[]) => Module)[] = [
  Conv2dNormActivation,
  FeaturePyramidNetwork,
  FrozenBatchNorm2d,
  MLP,
  MultiScaleRoIAlign,
  Permute,
  SqueezeExcitation,
  StochasticDepth,
];
