/** StepLR, as `torch.optim.lr_scheduler.StepLR`: lr times gamma every `stepSize` epochs. */
import { LRScheduler } from './lr-scheduler.js';
import type { Optimizer } from './optimizer.js';

export interface StepLROptions {
  /** Epochs between decays. */
  stepSize: number;
  /** Factor of each decay (default 0.1). */
  gamma?: number;
}

/**
 * @example
 * const opt = new optim.SGD(resnet18().parameters(), { lr: 0.1 });
 * const scheduler = new optim.lrScheduler.StepLR(opt, { stepSize: 30, gamma: 0.1 });
 * scheduler.step(); // after each epoch: lr 0.1 for epochs 0-29, 0.01 for 30-59, ...
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: StepLROptions) {
    super(optimizer);
    if (!Number.isInteger(options.stepSize) || options.stepSize < 1) {
      throw new RangeError(`[StepLR] stepSize must be a positive integer, got ${options.stepSize}`);
    }
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.step();
  }

  protected nextLrs(): number[] {
    const decays = this.lastEpoch !== 0 && this.lastEpoch % this.stepSize === 0;
    return this.currentLrs().map((lr) => (decays ? lr * this.gamma : lr));
  }
}
