/** Installs `tensor.backward()`, the one Tensor method that needs the autograd engine. */
import { Tensor } from '../tensor/tensor.js';
import { type BackwardOptions, backward } from './engine.js';

declare module '../tensor/tensor.js' {
  interface Tensor {
    /**
     * Adds the gradient of this tensor to the `.grad` of every leaf it was computed from, as
     * `tensor.backward()`. A tensor with more than one element needs `gradient` (its shape).
     */
    backward(gradient?: Tensor | null, options?: BackwardOptions): void;
  }
}

Object.defineProperty(Tensor.prototype, 'backward', {
  value(this: Tensor, gradient?: Tensor | null, options: BackwardOptions = {}): void {
    backward(this, gradient === undefined || gradient === null ? null : [gradient], options);
  },
  writable: true,
  configurable: true,
});
