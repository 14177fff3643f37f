import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES_DIR, assertClose, loadFixture } from '../../test/helpers/compare-with-torch.js';
import { WeightsError } from '../errors.js';
import { tensor } from '../tensor/creation.js';
import { loadNpy, saveNpy } from './npy.js';
import { loadPth } from './pth.js';
import { loadSafetensors, saveSafetensors } from './safetensors.js';
import { loadWeights } from './weights.js';

const file = (name: string): string => join(FIXTURES_DIR, 'io', name);
const expected = new Map(loadFixture('io/expected.json').map((c) => [c.name, c.t]));

function assertSameTensors(
  actual: Map<string, unknown>,
  wanted: Record<string, import('../tensor/tensor.js').Tensor>,
): void {
  assert.deepEqual([...actual.keys()], Object.keys(wanted));
  for (const [key, t] of Object.entries(wanted)) assertClose(actual.get(key), t, { rtol: 0, atol: 0 }, key);
}

test('a state dict written by torch.save loads with its keys, dtypes and values', () => {
  assertSameTensors(loadPth(file('conv-bn.pth')), expected.get('conv-bn')!);
});

test('shared storages, offsets, non-contiguous views, float16, bool and int64 load as PyTorch holds them', () => {
  assertSameTensors(loadPth(file('tricky.pth')), expected.get('tricky')!);
});

test('a checkpoint wrapping the state dict under state_dict loads that state dict', () => {
  assertSameTensors(loadWeights(file('wrapped.pth')), expected.get('conv-bn')!);
});

test('hostile pickles are refused before anything runs', () => {
  for (const [name, global] of [
    ['evil-os-system.pth', /'posix\.system'|'os\.system'/],
    ['evil-eval.pth', /'(__builtin__|builtins)\.eval'/],
  ] as const) {
    assert.throws(
      () => loadPth(file(name)),
      (e: unknown) => {
        assert.ok(e instanceof WeightsError);
        assert.match(e.message, global);
        assert.match(e.message, /may be malicious/);
        return true;
      },
    );
  }
  assert.equal(existsSync('/tmp/featurefx-pwned'), false);
});

test('broken files are WeightsErrors with a reason, never crashes', () => {
  const cases: [string, RegExp][] = [
    ['deep-nesting.pth', /does not hold a state dict/],
    ['truncated.pth', /truncated|end-of-central-directory/],
    ['short-storage.pth', /reaches element .* which has .*corrupt/],
    ['compressed.pth', /compressed/],
    ['legacy.pth', /legacy format/],
  ];
  for (const [name, message] of cases)
    assert.throws(() => loadPth(file(name)), { name: 'WeightsError', message }, name);
  assert.throws(() => loadWeights(join(FIXTURES_DIR, 'io', 'missing.pth')), {
    name: 'WeightsError',
    message: /cannot read/,
  });
});

test('a weights path that is a folder or a FIFO is refused at once (a FIFO never hangs the load)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-weights-path-'));
  try {
    execFileSync('mkfifo', [join(dir, 'fifo.pth')]);
    for (const path of [dir, join(dir, 'fifo.pth')]) {
      for (const load of [loadWeights, loadPth, loadSafetensors]) {
        assert.throws(() => load(path), { name: 'WeightsError', message: /cannot read .*not a regular file/ });
      }
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('safetensors round-trips, and forged headers are refused', () => {
  const tensors = loadPth(file('tricky.pth'));
  const bytes = saveSafetensors(tensors);
  assertSameTensors(loadSafetensors(bytes), Object.fromEntries(tensors));
  const forge = (header: object): Uint8Array => {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + 4);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  assert.throws(
    () => loadSafetensors(forge({ w: { dtype: 'F32', shape: [1000000], data_offsets: [0, 4000000] } })),
    /does not fit/,
  );
  assert.throws(
    () => loadSafetensors(forge({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } })),
    /does not fit/,
  );
  assert.throws(
    () => loadSafetensors(forge({ w: { dtype: 'X9', shape: [1], data_offsets: [0, 4] } })),
    /unsupported dtype/,
  );
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  assert.throws(() => loadSafetensors(huge), { name: 'WeightsError', message: /exceeds the file/ });
});

test("npy files round-trip with NumPy's header layout", () => {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-npy-'));
  const t = tensor([
    [1.5, -2],
    [3, 4],
  ]);
  saveNpy(t, join(dir, 'a.npy'));
  const bytes = readFileSync(join(dir, 'a.npy'));
  assert.equal((10 + bytes.readUInt16LE(8)) % 64, 0, 'data is 64-byte aligned');
  assert.deepEqual(loadNpy(join(dir, 'a.npy')).toArray(), t.toArray());
});
