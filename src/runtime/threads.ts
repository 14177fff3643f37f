/**
 * Thread settings for ONNX Runtime. One intra-op pool size applies to every session with a pool
 * created afterwards (compiled models, and the eager kernels of ops that parallelise; see
 * kernel-cache.ts); the default uses every core, as PyTorch's does.
 */
import { availableParallelism } from 'node:os';

let numThreads = availableParallelism();
const listeners = new Set<() => void>();

/** Sets the number of threads ONNX Runtime uses inside one op, like `torch.set_num_threads`. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`[setNumThreads] expected a positive integer, got ${n}`);
  if (n === numThreads) return;
  numThreads = n;
  for (const listener of listeners) listener();
}

export function getNumThreads(): number {
  return numThreads;
}

/** Called when the thread count changes, so caches of sessions can drop theirs. */
export function onThreadsChange(listener: () => void): void {
  listeners.add(listener);
}
