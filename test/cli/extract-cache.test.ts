import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { saveSafetensors } from '../../src/io/safetensors.js';
import { getModel } from '../../src/models/index.js';
import { manualSeed } from '../../src/tensor/generator.js';
import { imageFolder, run } from './cli-helpers.js';

test('extract --weights run again gives the same bytes from the cache, through the shortcut its first run recorded', async (t) => {
  const dir = await imageFolder(3);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  manualSeed(3);
  saveSafetensors(getModel('squeezenet1_1').stateDict(), join(dir, 'w.safetensors'));
  const cache = join(dir, 'cache');
  const env = { ...process.env, FEATUREFX_CACHE_DIR: cache, FEATUREFX_NO_CACHE: '' };
  const extract = (out: string): Buffer => {
    const args = ['extract', 'squeezenet1_1', 'images', '--weights', 'w.safetensors', '--nodes', 'features.12.cat=f'];
    const r = run([...args, '--batch', '2', '--workers', '0', '--out', out], dir, { env });
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(join(dir, out, 'f.npy'));
  };
  const first = extract('first');
  // Batches of 2 and 1: a shortcut for each shape, to one entry.
  const names = readdirSync(cache);
  assert.equal(names.filter((n) => n.endsWith('.shortcut.json')).length, 2, names.join(', '));
  assert.equal(names.filter((n) => n.endsWith('.ort')).length, 1, names.join(', '));
  assert.ok(extract('second').equals(first));
});
