import { permute } from '../../ops/permute.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

/** torchvision's Permute module (ConvNeXt uses it). */
export class Permute extends Module<[Tensor], Tensor> {
  constructor(readonly dims: readonly number[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return permute(x, this.dims);
  }
}
