/** Loss functions, as in `torch.nn.functional`: composed from ops, so autograd differentiates them. */
export { type Reduction } from './reduction.js';
export { crossEntropy, type CrossEntropyOptions } from './cross-entropy.js';
export { mseLoss } from './mse-loss.js';
export {
  binaryCrossEntropyWithLogits,
  type BinaryCrossEntropyWithLogitsOptions,
} from './binary-cross-entropy-with-logits.js';
export { smoothL1Loss, type SmoothL1LossOptions } from './smooth-l1-loss.js';
