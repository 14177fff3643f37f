import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES_DIR } from '../../test/helpers/compare-with-torch.js';
import { type TensorSpec, globalPickle, torchSave, torchZip } from '../../test/helpers/torch-archive.js';
import { WeightsError } from '../errors.js';
import { loadPth } from './pth.js';

const floats = (n: number): Uint8Array => new Uint8Array(new Float32Array(n).map((_, i) => i).buffer);

function refused(load: () => unknown, message: RegExp): void {
  assert.throws(load, (e: unknown) => {
    assert.ok(e instanceof WeightsError, `a WeightsError, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

test('expanded (stride-0) tensors saved by torch are refused before any copy is made, naming the key', () => {
  // 750 bytes that ask for 4 GiB, and 765 bytes that ask for 4 TiB (a raw "Invalid typed array length" before).
  for (const name of ['expanded.pth', 'expanded-2e40.pth']) {
    refused(() => loadPth(join(FIXTURES_DIR, 'io', name)), /tensor 'weight' .*stride \[0\].*overlap.*contiguous\(\)/);
  }
});

test('a tensor that reaches past its storage, or has negative or mismatched fields, is refused naming its key', () => {
  const cases: [TensorSpec, RegExp][] = [
    [{ storage: '0', offset: 3, size: [2], stride: [1] }, /tensor 'w' .*reaches element 4 of storage '0', which has 4/],
    [{ storage: '0', offset: 0, size: [2, 2], stride: [3, 1] }, /tensor 'w' .*reaches element 4 of storage '0'/],
    [
      { storage: '0', offset: -1, size: [2], stride: [1] },
      /tensor 'w' has an offset, size or stride that is negative.*offset -1/,
    ],
    [
      { storage: '0', offset: 0, size: [-2], stride: [1] },
      /tensor 'w' has an offset, size or stride that is negative.*size \[-2\]/,
    ],
    [
      { storage: '0', offset: 2, size: [2], stride: [-1] },
      /tensor 'w' has an offset, size or stride that is negative.*stride \[-1\]/,
    ],
    [{ storage: '0', offset: 0, size: [2, 2], stride: [1] }, /tensor 'w' has 2 sizes but 1 strides/],
    [{ storage: '0', offset: 0, size: [2n ** 70n], stride: [0] }, /tensor 'w' has .*size \[1180591620717411303424\]/],
    [{ storage: '0', offset: 2n ** 64n, size: [1], stride: [1] }, /tensor 'w' has .*offset 18446744073709551616/],
  ];
  for (const [spec, message] of cases) refused(() => loadPth(torchSave([['w', spec]], { 0: floats(4) })), message);
  // An empty tensor addresses nothing, whatever its stride.
  const empty = loadPth(
    torchSave([['w', { storage: '0', offset: 0, size: [0, 5], stride: [99, 99] }]], { 0: floats(4) }),
  );
  assert.deepEqual(empty.get('w')?.shape, [0, 5]);
});

test('strided copies may not take more than a few times the storages: many views of one storage are refused', () => {
  // 64 transposed views of one 32×32 storage: 256 KiB of copies out of a 4 KiB storage and a 9 KiB pickle.
  const views: [string, TensorSpec][] = Array.from({ length: 64 }, (_, i) => [
    `t${i}`,
    { storage: '0', offset: 0, size: [32, 32], stride: [1, 32] },
  ]);
  refused(
    () => loadPth(torchSave(views, { 0: floats(32 * 32) })),
    /tensor 't4' .*needs a 4096-byte copy.*at most 16384/,
  );
  // Four fit, and hold the transpose.
  const sd = loadPth(torchSave(views.slice(0, 4), { 0: floats(32 * 32) }));
  assert.deepEqual([...(sd.get('t3')!.data as Float32Array).subarray(0, 3)], [0, 32, 64]);
});

test('tensors that share a storage are views of one read of it, not copies of the whole storage', () => {
  const shared: [string, TensorSpec][] = [
    ['a', { storage: '0', offset: 0, size: [2, 3], stride: [3, 1] }],
    ['b', { storage: '0', offset: 6, size: [4], stride: [1] }],
    ['c', { storage: '0', offset: 2, size: [2], stride: [4] }],
  ];
  const sd = loadPth(torchSave(shared, { 0: floats(10) }));
  const [a, b, c] = ['a', 'b', 'c'].map((k) => sd.get(k)!.data as Float32Array);
  assert.equal(a!.buffer, b!.buffer, 'contiguous tensors of one storage share its buffer');
  assert.deepEqual([...a!, ...b!, ...c!], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2, 6]);
  const tricky = loadPth(join(FIXTURES_DIR, 'io', 'tricky.pth'));
  assert.equal(tricky.get('base')!.data.buffer, tricky.get('same_storage_row')!.data.buffer);
});

test("storage class names are looked up as the table's own entries: torch.constructor and friends are refused", () => {
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    const file = torchZip([{ name: 'archive/data.pkl', data: globalPickle('torch', name) }]);
    refused(() => loadPth(file), new RegExp(`refused to load global 'torch\\.${name}'.*may be malicious`));
  }
});
