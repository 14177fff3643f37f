/**
 * `LRScheduler`: the base of the learning-rate schedulers, as `torch.optim.lr_scheduler.LRScheduler`.
 * A scheduler sets the `lr` of each of its optimizer's param groups; call `step()` once per
 * epoch, after `optimizer.step()`. Like torch's, the constructor takes the first step (epoch 0).
 */
import type { Optimizer } from './optimizer.js';

/** A scheduler's progress as plain data, as `scheduler.state_dict()`. */
export interface SchedulerStateDict {
  baseLrs: number[];
  lastEpoch: number;
  stepCount: number;
  lastLr: number[];
}

export abstract class LRScheduler {
  /** Each group's `lr` when the scheduler was made. */
  baseLrs: number[];
  /** The epoch of the last `step()`: 0 after construction. */
  lastEpoch = -1;
  /** How many times `step()` ran, the constructor's included. */
  stepCount = 0;
  #lastLr: number[] = [];

  constructor(readonly optimizer: Optimizer<{ lr: number }>) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
  }

  /** Each group's next lr, from its current one (torch's chainable `get_lr`). */
  protected abstract nextLrs(): number[];

  /** Moves to the next epoch and sets each group's lr. */
  step(): void {
    this.stepCount += 1;
    this.lastEpoch += 1;
    const lrs = this.nextLrs();
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]!));
    this.#lastLr = lrs;
  }

  /** The lr of each group that the last `step()` set, as `get_last_lr()`. */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  stateDict(): SchedulerStateDict {
    return {
      baseLrs: [...this.baseLrs],
      lastEpoch: this.lastEpoch,
      stepCount: this.stepCount,
      lastLr: this.getLastLr(),
    };
  }

  loadStateDict(state: SchedulerStateDict): void {
    this.baseLrs = [...state.baseLrs];
    this.lastEpoch = state.lastEpoch;
    this.stepCount = state.stepCount;
    this.#lastLr = [...state.lastLr];
  }

  /** The current lr of each group. */
  protected currentLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
}
