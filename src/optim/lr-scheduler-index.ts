/** `optim.lrScheduler`: torch.optim.lr_scheduler's schedulers. */
export { LRScheduler, type SchedulerStateDict } from './lr-scheduler.js';
export { StepLR, type StepLROptions } from './step-lr.js';
export { CosineAnnealingLR, type CosineAnnealingLROptions } from './cosine-annealing-lr.js';
