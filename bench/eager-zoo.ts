/**
 * `node --import tsx bench/eager-zoo.ts [--json FILE]`: every registered model run eagerly once,
 * in one process (eval mode, parameters left uninitialised, a small input), then the process's
 * kernels and threads. Each model also runs a second time, to see whether its kernels fit the
 * caches (a second forward that builds sessions means the pooled-kernel cap is too small for it).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { getModel, getNumThreads, listModels, randn, skipInit } from '../src/index.js';
import { kernelCacheStats } from '../src/runtime/kernel-cache.js';

const threads = (): number | undefined => {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return undefined;
  }
};

/** The smallest square side each model takes (Inception v3's stem needs 75). */
const side = (name: string): number => (name === 'inception_v3' ? 96 : 64);

const rows: Record<string, unknown>[] = [];
const start = { threads: threads(), ...kernelCacheStats() };
for (const name of listModels({ task: 'classification' })) {
  const model = skipInit(() => getModel(name)).eval();
  const x = randn([1, 3, side(name), side(name)]);
  const before = kernelCacheStats();
  const t = performance.now();
  model.call(x);
  const first = kernelCacheStats();
  model.call(x);
  const second = kernelCacheStats();
  const row = {
    model: name,
    ms: Math.round(performance.now() - t),
    newKernels: first.built - before.built,
    pooledNow: second.pooled,
    secondForwardBuilt: second.built - first.built,
    kernels: second.kernels,
    threads: threads(),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}
const end = { threads: threads(), ...kernelCacheStats() };
const summary = { intraOpThreads: getNumThreads(), models: rows.length, start, end };
console.log(JSON.stringify(summary));
const jsonAt = process.argv.indexOf('--json');
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1]!, JSON.stringify({ summary, rows }, null, 2));
