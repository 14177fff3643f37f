import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { slice } from '../ops/getitem.js';
import { F } from '../ops/index.js';
import { BatchNorm2d } from '../nn/index.js';
import { arange, randn } from '../tensor/creation.js';
import { MAX_THREADED_KERNELS, clearKernelCache, kernelCacheSize } from './kernel-cache.js';
import { getNumThreads, setNumThreads } from './threads.js';

test('numbers are kernel inputs: 50 scalars through add make one kernel, with the right sums', () => {
  const x = arange(4).to('float32');
  clearKernelCache();
  for (let s = 0; s < 50; s++) assert.deepEqual(x.add(s).toArray(), [s, s + 1, s + 2, s + 3]);
  assert.equal(kernelCacheSize(), 1);
});

test("clamp's bounds, pad's pads and slices' bounds are inputs too: one kernel each; reshape needs none", () => {
  clearKernelCache();
  const x = randn([2, 3, 4, 5]);
  for (let k = 1; k <= 5; k++) {
    const clamped = F.clamp(x, { min: -k / 10, max: k / 10 });
    assert.ok(Array.from(clamped.data as Float32Array).every((v) => Math.abs(v) <= k / 10 + 1e-7));
    assert.deepEqual(x.reshape([k === 5 ? 24 : 12, -1]).shape, [k === 5 ? 24 : 12, k === 5 ? 5 : 10]);
    assert.deepEqual(F.pad(x, [k, 0, 0, k]).shape, [2, 3, 4 + k, 5 + k]);
    assert.deepEqual(x.getitem(['...', slice(0, k)]).shape, [2, 3, 4, k]);
  }
  // A reshape is a view of its input's data (no kernel at all).
  assert.equal(kernelCacheSize(), 3);
});

test('a BatchNorm2d training step builds no kernel after the first, whatever the batch or the step count', () => {
  clearKernelCache();
  const bn = new BatchNorm2d(3, { momentum: null }).train();
  bn.call(randn([2, 3, 4, 4]));
  const afterFirst = kernelCacheSize();
  for (const batch of [2, 4, 3, 5]) bn.call(randn([batch, 3, 6, 5]));
  assert.equal(kernelCacheSize(), afterFirst);
  assert.equal(bn.num_batches_tracked!.item(), 5);
});

test(
  'threads stay bounded after many kernels: unpooled kernels add none, pooled ones are capped',
  {
    skip: existsSync('/proc/self/task') ? false : 'counts threads through /proc/self/task (Linux)',
  },
  () => {
    const threads = (): number => readdirSync('/proc/self/task').length;
    const saved = getNumThreads();
    // Three threads per op: a pooled kernel owns two workers, whatever the machine's core count.
    setNumThreads(3);
    try {
      const x = randn([1, 2, 3, 4, 5]);
      x.permute([0, 1, 2, 3, 4]);
      const before = threads();
      // 120 transposes: 120 distinct kernels (the permutation is an attribute).
      const perms = (items: number[]): number[][] =>
        items.length <= 1
          ? [items]
          : items.flatMap((v, i) => perms(items.filter((_, j) => j !== i)).map((p) => [v, ...p]));
      for (const p of perms([0, 1, 2, 3, 4])) x.permute(p);
      // A little slack for threads Node itself may start (its libuv pool has 4); the old cache
      // started 2 per kernel here, 240.
      const SLACK = 4;
      assert.ok(threads() - before <= SLACK, `${threads() - before} new threads for 120 kernels without a pool`);
      // More depthwise convolutions than the pool cap: as many distinct pooled kernels (groups is an attribute).
      const convs = MAX_THREADED_KERNELS + 30;
      for (let g = 1; g <= convs; g++) F.conv2d(randn([1, g, 4, 4]), randn([g, 1, 1, 1]), null, { groups: g });
      assert.ok(kernelCacheSize() >= 120 + MAX_THREADED_KERNELS);
      assert.ok(
        threads() - before <= MAX_THREADED_KERNELS * 2 + SLACK,
        `${threads() - before} new threads for ${convs} pooled kernels; at most ${MAX_THREADED_KERNELS * 2} expected`,
      );
    } finally {
      setNumThreads(saved);
    }
  },
);
