import { batchNorm, batchNormStats } from '../../ops/batch-norm.js';
import { isTraced } from '../../ops/tracing-hook.js';
import { ones, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the new batch in the running statistics; null for a cumulative average. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over (N, C, H, W), as `nn.BatchNorm2d`. In training it normalises with
 * the batch's statistics and replaces its running-statistics buffers with updated ones.
 */
export class BatchNorm2d extends Module<[Tensor], Tensor> {
  weight: Tensor | null;
  bias: Tensor | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions = {},
  ) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    const affine = options.affine ?? true;
    this.weight = affine ? ones([numFeatures]) : null;
    this.bias = affine ? zeros([numFeatures]) : null;
    const track = options.trackRunningStats ?? true;
    this.registerBuffer('running_mean', track ? zeros([numFeatures]) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures]) : null);
    this.registerBuffer('num_batches_tracked', track ? zeros([], { dtype: 'int64' }) : null);
  }

  forward(x: Tensor): Tensor {
    const useBatchStats = this.training || this.running_mean === null;
    // Running statistics are updated only on real data: a traced call (shape propagation, export
    // of a training graph) must not replace buffers with traced values.
    if (this.training && this.running_mean !== null && this.running_var !== null && !isTraced(x)) {
      const count = Number(this.num_batches_tracked!.item()) + 1;
      this.num_batches_tracked = zeros([], { dtype: 'int64' }).add(count);
      const momentum = this.momentum ?? 1 / count;
      // batch_norm_stats is not differentiable: the new buffers carry no graph from step to step.
      const [mean, variance] = batchNormStats(x, this.running_mean, this.running_var, momentum);
      const output = batchNorm(x, null, null, this.weight, this.bias, { training: true, eps: this.eps });
      this.running_mean = mean!;
      this.running_var = variance!;
      return output;
    }
    return batchNorm(x, this.running_mean, this.running_var, this.weight, this.bias, {
      training: useBatchStats,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, track_running_stats=${this.running_mean !== null}`;
  }
}
registerBuiltinLayer(BatchNorm2d);
