import { ones, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';

/** torchvision's FrozenBatchNorm2d: batch norm with fixed statistics and affine parameters, all buffers. */
export class FrozenBatchNorm2d extends Module<[Tensor], Tensor> {
  declare weight: Tensor;
  declare bias: Tensor;
  declare running_mean: Tensor;
  declare running_var: Tensor;

  constructor(
    readonly numFeatures: number,
    /** Writable: torchvision's COCO checkpoints were trained with 0 (`overwriteEps`). */
    public eps = 1e-5,
  ) {
    super();
    this.registerBuffer('weight', ones([numFeatures]));
    this.registerBuffer('bias', zeros([numFeatures]));
    this.registerBuffer('running_mean', zeros([numFeatures]));
    this.registerBuffer('running_var', ones([numFeatures]));
  }

  /** A BatchNorm2d's checkpoint loads as is: its `num_batches_tracked` is dropped, as torchvision does. */
  override upgradeStateDict(stateDict: Map<string, Tensor>, prefix: string): void {
    stateDict.delete(`${prefix}num_batches_tracked`);
  }

  forward(x: Tensor): Tensor {
    const scale = this.weight.mul(this.running_var.add(this.eps).sqrt().pow(-1)).reshape([1, -1, 1, 1]);
    const shift = this.bias.reshape([1, -1, 1, 1]).sub(this.running_mean.reshape([1, -1, 1, 1]).mul(scale));
    return x.mul(scale).add(shift);
  }
}
