import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cachedExtractor, cachedExtractorStats } from '../../src/cli/cached-extractor.js';
import { saveSafetensors } from '../../src/io/safetensors.js';
import { getModel } from '../../src/models/index.js';
import { modelCacheStats } from '../../src/runtime/model-cache.js';
import { randn } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/generator.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const NODES = 'features.5=mid,features.12.cat=last';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-shortcut-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A checkpoint of squeezenet1_1 (1.2M parameters) with weights drawn from `seed`. */
function checkpoint(path: string, seed: number): void {
  manualSeed(seed);
  saveSafetensors(getModel('squeezenet1_1').stateDict(), path);
}

/** What a fresh process (a new extractor) gives for `batch`, and whether the model was built for it. */
function extract(weights: string, batch: Tensor): { out: Record<string, Tensor>; shortcut: boolean } {
  const before = cachedExtractorStats.shortcutRuns;
  const out = cachedExtractor('squeezenet1_1', weights, NODES)(batch);
  return { out, shortcut: cachedExtractorStats.shortcutRuns > before };
}

function assertSame(a: Record<string, Tensor>, b: Record<string, Tensor>): void {
  assert.deepEqual(Object.keys(a), ['mid', 'last']);
  assert.deepEqual(Object.keys(b), Object.keys(a));
  for (const key of Object.keys(a)) {
    assert.deepEqual(a[key]!.shape, b[key]!.shape, key);
    assert.deepEqual(a[key]!.data, b[key]!.data, key);
  }
}

test('a second extractor runs the cached entry without building the model, with the same numbers', (t) => {
  const dir = tempDir(t);
  process.env.FEATUREFX_CACHE_DIR = join(dir, 'cache');
  delete process.env.FEATUREFX_NO_CACHE;
  const weights = join(dir, 'w.safetensors');
  checkpoint(weights, 1);
  const batch = randn([2, 3, 64, 64]);
  const first = extract(weights, batch);
  assert.equal(first.shortcut, false);
  const second = extract(weights, batch);
  assert.equal(second.shortcut, true);
  assertSame(first.out, second.out);
  // Another batch size is another shortcut: recorded the first time, used the next.
  const one = randn([1, 3, 64, 64]);
  assert.equal(extract(weights, one).shortcut, false);
  assert.equal(extract(weights, one).shortcut, true);
});

test('other weights, a damaged shortcut or a missing entry fall back to building the model', (t) => {
  const dir = tempDir(t);
  const cache = join(dir, 'cache');
  process.env.FEATUREFX_CACHE_DIR = cache;
  delete process.env.FEATUREFX_NO_CACHE;
  const weights = join(dir, 'w.safetensors');
  checkpoint(weights, 1);
  const batch = randn([1, 3, 64, 64]);
  const original = extract(weights, batch).out;

  // The same path with other weights: another digest, so the old shortcut is not found.
  checkpoint(weights, 2);
  const changed = extract(weights, batch);
  assert.equal(changed.shortcut, false);
  assert.notDeepEqual(changed.out.last!.data, original.last!.data);
  assert.equal(extract(weights, batch).shortcut, true);

  const shortcuts = (): string[] => readdirSync(cache).filter((n) => n.endsWith('.shortcut.json'));
  for (const name of shortcuts()) writeFileSync(join(cache, name), '{"entry": "nonsense"}');
  const afterDamage = extract(weights, batch);
  assert.equal(afterDamage.shortcut, false);
  assertSame(afterDamage.out, changed.out);

  for (const name of readdirSync(cache).filter((n) => n.endsWith('.ort'))) rmSync(join(cache, name));
  const writes = modelCacheStats.writes;
  const afterLoss = extract(weights, batch);
  assert.equal(afterLoss.shortcut, false);
  assert.equal(modelCacheStats.writes, writes + 1);
  assertSame(afterLoss.out, changed.out);
  assert.equal(extract(weights, batch).shortcut, true);
});

test('random weights and a cache turned off never record a shortcut', (t) => {
  const dir = tempDir(t);
  const cache = join(dir, 'cache');
  process.env.FEATUREFX_CACHE_DIR = cache;
  process.env.FEATUREFX_NO_CACHE = '1';
  t.after(() => delete process.env.FEATUREFX_NO_CACHE);
  const weights = join(dir, 'w.safetensors');
  checkpoint(weights, 1);
  const batch = randn([1, 3, 64, 64]);
  extract(weights, batch);
  assert.equal(extract(weights, batch).shortcut, false);
  delete process.env.FEATUREFX_NO_CACHE;
  cachedExtractor('squeezenet1_1', undefined, NODES)(batch);
  assert.deepEqual(readdirSync(dir), ['w.safetensors']);
});
