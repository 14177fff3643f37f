/**
 * Eager kernels: one-op ONNX models, compiled once per signature and kept in bounded LRU maps.
 * Inputs have symbolic dimensions, so a new batch or image size reuses the kernel, and constants
 * are inputs too (see ops/kernel-builder.ts), so new numbers reuse it as well.
 *
 * Threads: every ONNX Runtime session owns its thread pool (n - 1 threads for n intra-op
 * threads). ORT can share global pools instead, but only in an environment created with
 * `CreateEnvWithGlobalThreadPools`, and onnxruntime-node 1.30 creates its one environment
 * without them (asking a session for `session.use_per_session_threads = 0` then fails to load).
 * So the pools are bounded instead: kernels whose ops parallelise well and run on large tensors
 * (THREADED_OPS) get a pool and live in a small LRU map of their own, and every other kernel runs
 * on the calling thread with no pool at all. Threads stay under MAX_THREADED_KERNELS × (n - 1).
 */
import { NativeSession } from './native-session.js';
import { SessionLru } from './session-lru.js';
import { type OnnxGraph, encodeModel } from './onnx-model.js';
import { getNumThreads, onThreadsChange } from './threads.js';

/**
 * ONNX ops whose CPU kernels split their work across threads and carry most of a CNN's time:
 * the compute-bound ones, and the memory-bound ones that run on every activation (on 2 cores a
 * second thread took Add, MaxPool and BatchNormalization on 8×256×56×56 from 17, 6.4 and 15 ms
 * to 8.7, 4.2 and 9.9). Ops outside the list (shape ops, reductions, softmax, ...) run unpooled.
 */
const THREADED_OPS = new Set([
  'Conv',
  'ConvTranspose',
  'Gemm',
  'MatMul',
  'BatchNormalization',
  'Relu',
  'Clip',
  'Sigmoid',
  'Add',
  'Mul',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
]);
const MAX_KERNELS = 2048;
/** Enough for any one zoo model's pooled kernels (docs/PERFORMANCE.md), so a forward never rebuilds one. */
export const MAX_THREADED_KERNELS = 64;

const singleThreaded = new SessionLru<NativeSession>(MAX_KERNELS);
const threaded = new SessionLru<NativeSession>(MAX_THREADED_KERNELS);
/** Sessions built since the process started, evicted ones included. */
let built = 0;

onThreadsChange(clearKernelCache);

/** What makes two kernel graphs the same kernel: everything but node names. */
function kernelKey(graph: OnnxGraph): string {
  return JSON.stringify([
    graph.name,
    graph.inputs,
    graph.outputs,
    graph.nodes.map((n) => [n.opType, n.inputs, n.outputs, n.attributes]),
    graph.initializers,
  ]);
}

/** The kernel that runs `graph`, compiled the first time a graph of its signature is asked for. */
export function getKernel(graph: OnnxGraph): NativeSession {
  const key = kernelKey(graph);
  const pooled = getNumThreads() > 1 && graph.nodes.some((n) => THREADED_OPS.has(n.opType));
  const cache = pooled ? threaded : singleThreaded;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  // Kernels are single ops, so nothing fuses; 'all' still matters because it gives convolutions
  // ORT's blocked (NCHWc) layout: resnet50 eager took 975 ms at batch 8 with 'basic', 733 with 'all'.
  const session = new NativeSession(encodeModel(graph), {
    intraOpNumThreads: pooled ? getNumThreads() : 1,
    graphOptimizationLevel: 'all',
  });
  cache.add(key, session);
  built++;
  return session;
}

export function clearKernelCache(): void {
  singleThreaded.clear();
  threaded.clear();
}

export function kernelCacheSize(): number {
  return singleThreaded.size + threaded.size;
}

/** Kernels cached, those of them with a thread pool, and sessions built so far (for benchmarks). */
export function kernelCacheStats(): { kernels: number; pooled: number; built: number } {
  return { kernels: kernelCacheSize(), pooled: threaded.size, built };
}
