import type { ArgumentGradients } from './op.js';
import { transpose } from './permute.js';
import { defineOp } from './registry.js';

/**
 * `torch.swapaxes`: `transpose` under NumPy's name. An op of its own because tracing records the
 * name torchvision's code calls (MaxViT's SwapAxes records `swapaxes` nodes).
 */
export const swapaxes = defineOp({
  name: 'swapaxes',
  infer: transpose.infer,
  lower: transpose.lower,
  backward: ({ grad, args: [, axis0, axis1] }): ArgumentGradients => [swapaxes(grad, axis0, axis1)],
});
