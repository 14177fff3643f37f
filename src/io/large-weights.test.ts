/**
 * Weight files over 2 GiB (Node's readFileSync limit) and over 4 GiB (zip64 offsets): each file is
 * mostly a hole that is never written, so it takes a few KiB of disk and its test runs in
 * milliseconds. The tensors sit after the hole, so loading them proves that reads go to offsets
 * past 4 GiB without a whole-file buffer.
 */
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { statePickle, writeTorchZip } from '../../test/helpers/torch-archive.js';
import { loadPth } from './pth.js';
import { WeightsError } from '../errors.js';
import { loadSafetensors } from './safetensors.js';
import { loadWeights } from './weights.js';

const dir = mkdtempSync(join(tmpdir(), 'featurefx-large-weights-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const GiB = 2 ** 30;
const values = new Float32Array([1.5, -2, 3, 4.25]);
const bytes = new Uint8Array(values.buffer);

function assertLoaded(sd: Map<string, { shape: readonly number[]; data: ArrayLike<number | bigint> }>): void {
  assert.deepEqual([...sd.keys()], ['w']);
  assert.deepEqual(sd.get('w')!.shape, [2, 2]);
  assert.deepEqual([...(sd.get('w')!.data as Float32Array)], [...values]);
}

test('a zip64 .pth over 4 GiB loads: the storage after the hole is read at its offset', () => {
  const path = join(dir, 'large.pth');
  const size = writeTorchZip(path, [
    { name: 'archive/data.pkl', data: statePickle([['w', { storage: '1', offset: 0, size: [2, 2], stride: [2, 1] }]]) },
    { name: 'archive/data/0', size: 4.25 * GiB }, // a storage no tensor of the state dict uses
    { name: 'archive/data/1', data: bytes },
  ]);
  assert.ok(size > 4.25 * GiB && statSync(path).blocks * 512 < 1024 * 1024, 'large on paper, small on disk');
  assertLoaded(loadPth(path));
  assertLoaded(loadWeights(path));
  rmSync(path);
});

test('a .safetensors over 2 GiB loads: the tensor after the hole is read at its offset', () => {
  const path = join(dir, 'large.safetensors');
  const begin = 2.25 * GiB;
  const header = new TextEncoder().encode(
    JSON.stringify({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [begin, begin + bytes.length] } }),
  );
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(header.length), true);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, length, 0, 8, 0);
    writeSync(fd, header, 0, header.length, 8);
    writeSync(fd, bytes, 0, bytes.length, 8 + header.length + begin);
  } finally {
    closeSync(fd);
  }
  assert.ok(statSync(path).size > begin && statSync(path).blocks * 512 < 1024 * 1024, 'large on paper, small on disk');
  assertLoaded(loadSafetensors(path));
  assertLoaded(loadWeights(path));
  rmSync(path);
});

test("a .safetensors header over the format's 100 MB is refused before it is read", () => {
  const path = join(dir, 'huge-header.safetensors');
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, 150_000_000n, true);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, length, 0, 8, 0);
    writeSync(fd, '{"w": ', 8);
    ftruncateSync(fd, 200_000_000);
  } finally {
    closeSync(fd);
  }
  assert.throws(
    () => loadWeights(path),
    (e: unknown) => {
      assert.ok(e instanceof WeightsError);
      assert.match(e.message, /header length 150000000 is over the 100000000 bytes the safetensors format allows/);
      return true;
    },
  );
  rmSync(path);
});
