/**
 * Reverse-mode automatic differentiation, as `torch.autograd`: `backward` and `grad`, and the
 * grad-mode scopes. Each op's derivative lives beside it in the op registry (`backward` in its
 * spec); this layer records the graph as ops run and walks it back.
 */
import './tensor-backward.js';

export { backward, grad, type BackwardOptions, type GradOptions } from './engine.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './grad-mode.js';
export { GradFn } from './grad-fn.js';
