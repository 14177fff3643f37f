import { flatten } from '../../ops/flatten.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';

/** `nn.Flatten(startDim = 1, endDim = -1)`: keeps the batch dim, unlike `torch.flatten`. */
export class Flatten extends Module<[Tensor], Tensor> {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}
registerBuiltinLayer(Flatten);
