/**
 * CosineAnnealingLR, as `torch.optim.lr_scheduler.CosineAnnealingLR`: lr follows half a cosine
 * from its initial value down to `etaMin` over `tMax` epochs, then back up, and so on. Computed
 * recursively from the current lr, as torch does, so that it composes with other changes to lr.
 */
import { LRScheduler } from './lr-scheduler.js';
import type { Optimizer } from './optimizer.js';

export interface CosineAnnealingLROptions {
  /** Epochs of half a period. */
  tMax: number;
  /** The minimum lr (default 0). */
  etaMin?: number;
}

export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: CosineAnnealingLROptions) {
    super(optimizer);
    if (!(options.tMax > 0)) throw new RangeError(`[CosineAnnealingLR] tMax must be positive, got ${options.tMax}`);
    this.tMax = options.tMax;
    this.etaMin = options.etaMin ?? 0;
    this.step();
  }

  protected nextLrs(): number[] {
    const { lastEpoch: e, tMax, etaMin } = this;
    const lrs = this.currentLrs();
    if (e === 0) return lrs;
    if ((e - 1 - tMax) % (2 * tMax) === 0) {
      // The restart of a period, where the recursive ratio below would divide by zero.
      return lrs.map((lr, i) => lr + ((this.baseLrs[i]! - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    const ratio = (1 + Math.cos((Math.PI * e) / tMax)) / (1 + Math.cos((Math.PI * (e - 1)) / tMax));
    return lrs.map((lr) => ratio * (lr - etaMin) + etaMin);
  }
}
