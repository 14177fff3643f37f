import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CNN } from '../../test/helpers/example-modules.js';
import { createFeatureExtractor } from '../featureExtraction/create-feature-extractor.js';
import { compile } from '../fx/compile.js';
import { F } from '../ops/index.js';
import { randn } from '../tensor/creation.js';
import { manualSeed } from '../tensor/generator.js';
import type { Tensor } from '../tensor/tensor.js';
import { checksum } from './checksum.js';
import {
  cacheKey,
  defaultCacheDir,
  modelCacheStats,
  readShortcut,
  resolveCacheDir,
  shortcutKey,
  writeShortcut,
} from './model-cache.js';

const ENTRY = /^[0-9a-f]{64}-[0-9a-f]{32}\.ort$/;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-cache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const entries = (dir: string): string[] => readdirSync(dir).filter((n) => ENTRY.test(n));
/** The keys of the entries (ORT's optimised bytes, and so an entry's digest, can differ between builds). */
const keys = (dir: string): string[] => entries(dir).map((n) => n.slice(0, 64));

manualSeed(0);
const extractor = createFeatureExtractor(new CNN(3, 2, 10).eval(), { returnNodes: ['blocks.1', 'cls'] });
const x = randn([2, 3, 32, 32]);

/** The outputs of a fresh compile with the cache in `dir`, and what the cache did for it. */
function run(dir: string | undefined): { out: Record<string, Tensor>; hits: number; writes: number; corrupt: number } {
  const before = { ...modelCacheStats };
  const compiled = compile(extractor, { cache: dir === undefined ? false : { dir } });
  const out = compiled.call(x) as Record<string, Tensor>;
  compiled.dispose();
  return {
    out,
    hits: modelCacheStats.hits - before.hits,
    writes: modelCacheStats.writes - before.writes,
    corrupt: modelCacheStats.corrupt - before.corrupt,
  };
}

function assertSameNumbers(a: Record<string, Tensor>, b: Record<string, Tensor>): void {
  assert.deepEqual(Object.keys(a), Object.keys(b));
  for (const key of Object.keys(a)) assert.deepEqual(a[key]!.data, b[key]!.data, key);
}

test('a second compile loads the optimised model from the cache, with the numbers of a fresh session', (t) => {
  const dir = tempDir(t);
  const fresh = run(undefined);
  const first = run(dir);
  assert.deepEqual([first.hits, first.writes], [0, 1]);
  assert.equal(entries(dir).length, 1);
  assert.deepEqual(
    readdirSync(dir).filter((n) => !ENTRY.test(n)),
    [],
    'no temporary file is left',
  );
  const second = run(dir);
  assert.deepEqual([second.hits, second.writes], [1, 0]);
  assertSameNumbers(second.out, fresh.out);
  assertSameNumbers(first.out, fresh.out);
});

test('a truncated, a damaged or an unloadable entry is deleted and rebuilt, with the right numbers', (t) => {
  const dir = tempDir(t);
  const fresh = run(dir).out;
  const [key] = keys(dir);
  const entry = (): string => join(dir, entries(dir)[0]!);
  const good = readFileSync(entry());
  const damaged = Buffer.from(good);
  damaged[damaged.length >> 1]! ^= 0x40;
  // Garbage whose checksum matches its name: only ONNX Runtime can tell, and its refusal is handled.
  const garbage = Buffer.from('not an onnx model');
  const garbageName = `${key!}-${checksum(garbage)}.ort`;
  const spoil: (() => void)[] = [
    () => writeFileSync(entry(), good.subarray(0, good.length >> 1)),
    () => writeFileSync(entry(), damaged),
    () => {
      rmSync(entry());
      writeFileSync(join(dir, garbageName), garbage);
    },
  ];
  for (const [i, damage] of spoil.entries()) {
    damage();
    const again = run(dir);
    assert.deepEqual([again.hits, again.corrupt, again.writes], [0, 1, 1], `damage ${i}`);
    assertSameNumbers(again.out, fresh);
    assert.deepEqual(keys(dir), [key], 'the rebuilt entry replaces the damaged one');
  }
});

test('the key changes with a weight, the optimisation level and the ONNX Runtime version', (t) => {
  const model = new Uint8Array(1000).fill(7);
  const changed = Uint8Array.from(model);
  changed[500] = 8;
  const key = cacheKey(model, 'all', '1.30.0');
  assert.notEqual(cacheKey(changed, 'all', '1.30.0'), key);
  assert.notEqual(cacheKey(model, 'basic', '1.30.0'), key);
  assert.notEqual(cacheKey(model, 'all', '1.30.1'), key);
  assert.equal(cacheKey(Uint8Array.from(model), 'all', '1.30.0'), key);

  // Through compile: a changed weight is a new entry, never the old model's numbers.
  const dir = tempDir(t);
  const before = run(dir);
  const weight = extractor.stateDict().get('blocks.0.convs.0.0.weight')!;
  const saved = F.mul(weight, 1);
  weight.copy_(F.add(weight, 0.5));
  t.after(() => weight.copy_(saved));
  const after = run(dir);
  assert.deepEqual([after.hits, after.writes], [0, 1]);
  assert.equal(entries(dir).length, 2);
  assert.notDeepEqual(after.out.cls!.data, before.out.cls!.data);
  assertSameNumbers(after.out, run(undefined).out);
});

test('two processes building the same model at once leave one whole entry, which a third run loads', async (t) => {
  const dir = tempDir(t);
  const session = fileURLToPath(new URL('./cached-session.ts', import.meta.url));
  const lowering = fileURLToPath(new URL('../ops/lowering.ts', import.meta.url));
  const onnx = fileURLToPath(new URL('./onnx-model.ts', import.meta.url));
  const cache = fileURLToPath(new URL('./model-cache.ts', import.meta.url));
  // A model with a weight large enough (4 MB) that ORT's writes of the two processes overlap.
  const script = `
    import { createCachedSession } from ${JSON.stringify(session)};
    import { GraphBuilder } from ${JSON.stringify(lowering)};
    import { encodeModel } from ${JSON.stringify(onnx)};
    import { modelCacheStats } from ${JSON.stringify(cache)};
    const b = new GraphBuilder();
    const x = b.addInput('x', 'float32', [1000]);
    const w = b.constant(Array.from({ length: 1000 * 1000 }, (_, i) => (i % 7) - 3), 'float32', [1000, 1000]);
    const graph = b.finish('m', [{ name: b.emit('MatMul', [w, x]), dtype: 'float32' }]);
    const s = createCachedSession(encodeModel(graph), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' }, ${JSON.stringify(dir)});
    const [y] = s.run([{ type: 'float32', dims: [1000], data: new Float32Array(1000).fill(1) }]);
    console.log(JSON.stringify({ ...modelCacheStats, y: Array.from(y.data.slice(0, 8)) }));
  `;
  const child = (): Promise<{ hits: number; writes: number; corrupt: number; y: number[] }> =>
    new Promise((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
    });
  const [a, b] = await Promise.all([child(), child()]);
  assert.equal(a.writes + b.writes + a.hits + b.hits, 2);
  assert.deepEqual(a.y, b.y);
  assert.deepEqual(
    readdirSync(dir).filter((n) => !ENTRY.test(n)),
    [],
    'no temporary file is left',
  );
  assert.equal(keys(dir).length, 1, 'one entry: a writer replaces the entries of its key');
  for (const name of entries(dir)) {
    assert.equal(checksum(readFileSync(join(dir, name))), name.slice(65, 97), `${name} is whole`);
  }
  const c = await child();
  assert.deepEqual([c.hits, c.writes, c.corrupt], [1, 0, 0]);
  assert.deepEqual(c.y, a.y);
});

test("the cache folder: the platform's, FEATUREFX_CACHE_DIR, a given one, or none", () => {
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux'), join('/x/cache', 'featurefx'));
  assert.match(defaultCacheDir({}, 'linux'), /\.cache[\\/]featurefx$/);
  assert.match(defaultCacheDir({}, 'darwin'), /Library[\\/]Caches[\\/]featurefx$/);
  assert.equal(defaultCacheDir({ LOCALAPPDATA: 'C:\\L' }, 'win32'), join('C:\\L', 'featurefx', 'cache'));
  assert.equal(defaultCacheDir({ FEATUREFX_CACHE_DIR: '/mine', XDG_CACHE_HOME: '/x' }, 'linux'), '/mine');
  assert.equal(resolveCacheDir(undefined), undefined);
  assert.equal(resolveCacheDir(false), undefined);
  assert.equal(resolveCacheDir({ dir: '/d' }), '/d');
  const saved = process.env.FEATUREFX_NO_CACHE;
  process.env.FEATUREFX_NO_CACHE = '1';
  try {
    assert.equal(resolveCacheDir({ dir: '/d' }), undefined);
    assert.equal(resolveCacheDir(true), undefined);
  } finally {
    if (saved === undefined) delete process.env.FEATUREFX_NO_CACHE;
    else process.env.FEATUREFX_NO_CACHE = saved;
  }
});

test('compile refuses a cache option that is not true, false or { dir }', () => {
  for (const cache of ['yes', { dir: '' }, { folder: '/d' }, null]) {
    assert.throws(
      () => compile(extractor, { cache } as never),
      (e: Error) =>
        e instanceof TypeError && /compile: cache must be true, false or \{ dir: 'folder' \}/.test(e.message),
    );
  }
});

test('the checksum changes with any changed word, a flipped bit, a shorter length or a zeroed tail', () => {
  const bytes = Uint8Array.from({ length: 1003 }, (_, i) => (i * 37) & 255);
  const sum = checksum(bytes);
  assert.match(sum, /^[0-9a-f]{32}$/);
  assert.equal(checksum(Uint8Array.from(bytes)), sum);
  assert.equal(checksum(new Uint8Array([0, ...bytes]).subarray(1)), sum, 'unaligned bytes');
  for (const at of [0, 5, 500, 998, 1002]) {
    const flipped = Uint8Array.from(bytes);
    flipped[at]! ^= 1;
    assert.notEqual(checksum(flipped), sum, `bit flipped at ${at}`);
  }
  assert.notEqual(checksum(bytes.subarray(0, 1000)), sum);
  const zeroed = Uint8Array.from(bytes);
  zeroed.fill(0, 512);
  assert.notEqual(checksum(zeroed), sum);
  assert.notEqual(checksum(new Uint8Array(32)), checksum(new Uint8Array(48)), 'zeros of two lengths');
});

test('a shortcut is read back as written; one damaged or of the wrong form is deleted, not believed', (t) => {
  const dir = tempDir(t);
  const key = shortcutKey(['code', 'resnet50', '{"layer4":"layer4"}', 'weights', 'float32', '1,3,224,224'], 'all');
  const shortcut = { entry: 'a'.repeat(64), outputs: [['layer4', 0] as [string, number]] };
  assert.equal(readShortcut(dir, key), undefined);
  writeShortcut(dir, key, shortcut);
  assert.deepEqual(readShortcut(dir, key), shortcut);
  for (const damaged of [
    '{"entry":',
    '{"entry":"x","outputs":[]}',
    JSON.stringify({ ...shortcut, outputs: [['k', -1]] }),
  ]) {
    writeShortcut(dir, key, shortcut);
    const [name] = readdirSync(dir);
    writeFileSync(join(dir, name!), damaged);
    assert.equal(readShortcut(dir, key), undefined, damaged);
    assert.deepEqual(readdirSync(dir), [], damaged);
  }
});

test("a shortcut's key changes with each part of what it describes and with the ONNX Runtime version", () => {
  const parts = ['code', 'resnet50', '{"layer4":"layer4"}', 'weights', 'float32', '1,3,224,224'];
  const key = shortcutKey(parts, 'all', '1.30.0');
  assert.notEqual(shortcutKey(parts, 'all', '1.31.0'), key);
  assert.notEqual(shortcutKey(parts, 'basic', '1.30.0'), key);
  for (let i = 0; i < parts.length; i++) {
    assert.notEqual(
      shortcutKey(
        parts.map((p, j) => (j === i ? `${p}x` : p)),
        'all',
        '1.30.0',
      ),
      key,
      parts[i],
    );
  }
  // Parts are kept apart: moving a character from one to the next is another key.
  assert.notEqual(shortcutKey(['ab', 'c'], 'all', '1.30.0'), shortcutKey(['a', 'bc'], 'all', '1.30.0'));
});
