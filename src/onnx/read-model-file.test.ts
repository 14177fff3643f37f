import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { handMadeModel } from '../../scripts/make-hand-made-onnx.js';
import { OnnxFormatError } from '../errors.js';
import type { ModelProto, StringStringEntryProto } from './model-proto.js';
import { readOnnxModel } from './read-model-file.js';
import { decodeOnnxModel, encodeOnnxModel } from './read-model.js';

const HAND_MADE = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'onnx', 'hand-made.onnx');
const work = mkdtempSync(join(tmpdir(), 'featurefx-read-onnx-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The hand-made model's logits for a fixed input, run by onnxruntime-node. */
async function logits(bytes: Uint8Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const image = Float32Array.from({ length: 2 * 3 * 8 * 8 }, (_, i) => Math.cos(i));
    const out = await session.run({ image: new ort.Tensor('float32', image, [2, 3, 8, 8]) });
    return out.logits!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/**
 * Writes the hand-made model into a new folder with `block_w` (324 floats) stored externally at
 * `location` with these entries, and its bytes as `data` at `offset` in the folder's 'weights.bin'.
 */
function withExternalWeights(name: string, entries: Record<string, string>, data = true): string {
  const folder = join(work, name);
  mkdirSync(folder);
  const model = handMadeModel();
  const tensor = model.graph!.initializer.find((t) => t.name === 'block_w')!;
  const bytes = new Uint8Array(Float32Array.from(tensor.floatData).buffer);
  if (data) writeFileSync(join(folder, 'weights.bin'), Buffer.concat([new Uint8Array(100), bytes]));
  tensor.floatData = [];
  tensor.dataLocation = 1;
  tensor.externalData = Object.entries(entries).map(([key, value]): StringStringEntryProto => ({ key, value }));
  writeFileSync(join(folder, 'model.onnx'), encodeOnnxModel(model));
  return join(folder, 'model.onnx');
}

async function rejectsWith(path: string, message: RegExp): Promise<void> {
  await assert.rejects(readOnnxModel(path), (e: unknown) => e instanceof OnnxFormatError && message.test(e.message));
}

test('the hand-made fixture is what its script writes: flat names, one unnamed node, typed weights', async () => {
  const bytes = readFileSync(HAND_MADE);
  assert.ok(Buffer.from(encodeOnnxModel(handMadeModel())).equals(bytes), 'the fixture is up to date');
  const model = await readOnnxModel(HAND_MADE);
  const names = model.graph!.node.map((n) => n.name ?? '');
  assert.deepEqual(names, [
    'stem_conv',
    'stem_relu',
    'pool',
    'block_conv',
    'residual',
    '',
    'gap',
    'flatten',
    'classifier',
  ]);
  assert.ok(model.graph!.initializer.every((t) => t.rawData === undefined && t.floatData.length > 0));
  assert.equal((await logits(bytes)).length, 2 * 4);
});

test('external data is read from the model folder into raw data; the model re-encodes self-contained', async () => {
  const path = withExternalWeights('good', { location: 'weights.bin', offset: '100', length: '1296' });
  const model = await readOnnxModel(path);
  const tensor = model.graph!.initializer.find((t) => t.name === 'block_w')!;
  assert.equal(tensor.rawData!.length, 324 * 4);
  assert.deepEqual(tensor.externalData, []);
  assert.equal(tensor.dataLocation, undefined);
  // Moved away from its data file, the re-encoded model still holds everything: same logits.
  const again = encodeOnnxModel(model);
  assert.deepEqual(await logits(again), await logits(readFileSync(HAND_MADE)));
  // decodeOnnxModel alone (the browser's path) leaves the reference as it was.
  const reference = decodeOnnxModel(readFileSync(path)).graph!.initializer.find((t) => t.name === 'block_w')!;
  assert.equal(reference.dataLocation, 1);
});

test('external data that leaves the model folder is refused: .., absolute paths, symlinks out', async () => {
  writeFileSync(join(work, 'secret.bin'), new Uint8Array(1000));
  const fix = /External data is read only from the model's folder \(.+\); put the data file beside the model/;
  const outside: [string, string][] = [
    ['dotdot', '../secret.bin'],
    ['absolute', join(work, 'secret.bin')],
  ];
  for (const [name, location] of outside) {
    const path = withExternalWeights(name, { location });
    await rejectsWith(path, new RegExp(`initializer 'block_w' has external data at '${location}', outside`));
    await rejectsWith(path, fix);
  }
  const link = withExternalWeights('link', { location: 'linked.bin' });
  symlinkSync(join(work, 'secret.bin'), join(work, 'link', 'linked.bin'));
  await rejectsWith(link, /has external data at 'linked\.bin', a link to .*secret\.bin, outside the model's folder/);
  // A link that stays inside the folder is fine.
  const inside = withExternalWeights('inside', { location: 'alias.bin', offset: '100' });
  symlinkSync('weights.bin', join(work, 'inside', 'alias.bin'));
  assert.equal((await readOnnxModel(inside)).graph!.initializer[2]!.rawData!.length, 1296);
});

test('missing external files, and offsets or lengths outside them, are refused', async () => {
  await rejectsWith(
    withExternalWeights('missing', { location: 'weights.bin' }, false),
    /initializer 'block_w' has its data in 'weights\.bin', which does not exist in .+\. Copy the data file/,
  );
  await rejectsWith(
    withExternalWeights('offset', { location: 'weights.bin', offset: '200' }),
    /initializer 'block_w' reads bytes 200 to 1496 of 'weights\.bin', which has 1396 bytes\. The data file/,
  );
  await rejectsWith(
    withExternalWeights('length', { location: 'weights.bin', length: '4' }),
    /declares dims \[6, 6, 3, 3\] of FLOAT \(1296 bytes\), but its external data has length 4\./,
  );
  await rejectsWith(withExternalWeights('bad-offset', { location: 'weights.bin', offset: '-1' }), /offset '-1', not a/);
  await rejectsWith(withExternalWeights('no-location', { offset: '0' }), /has external data without a location/);
  await rejectsWith(withExternalWeights('folder', { location: '.' }), /has its data in '\.', which is not a file/);
});

test("tensors whose external data overlap are refused: reads stay within the data files' size", async () => {
  const path = withExternalWeights('overlap', { location: 'weights.bin', offset: '100' });
  const model = decodeOnnxModel(readFileSync(path));
  // fc_w (24 floats) claims bytes 200-296, inside block_w's 100-1396.
  const fc = model.graph!.initializer.find((t) => t.name === 'fc_w')!;
  fc.floatData = [];
  fc.dataLocation = 1;
  fc.externalData = [
    { key: 'location', value: 'weights.bin' },
    { key: 'offset', value: '200' },
  ];
  writeFileSync(path, encodeOnnxModel(model));
  await rejectsWith(
    path,
    /initializer 'fc_w' reads bytes 200 to 296 of 'weights\.bin', which overlap .* 'block_w' \(100 to 1396\)/,
  );
});

test('a model file that cannot be read, or that is truncated, is refused naming the path', async () => {
  await rejectsWith(join(work, 'nope.onnx'), /^Load model from '.+nope\.onnx' failed: cannot read it \(ENOENT/);
  const truncated = join(work, 'truncated.onnx');
  writeFileSync(truncated, readFileSync(HAND_MADE).subarray(0, 2000));
  await rejectsWith(truncated, /^Load model from '.+truncated\.onnx' failed: protobuf parsing failed/);
  await assert.rejects(readOnnxModel(42 as unknown as string), TypeError);
});

test('an external tensor with absurd dims is refused before its file is opened', async () => {
  const path = withExternalWeights('absurd', { location: 'weights.bin' });
  const model = decodeOnnxModel(readFileSync(path), { source: 'x' });
  const change = (m: ModelProto) => (m.graph!.initializer.find((t) => t.name === 'block_w')!.dims = [2 ** 40]);
  change(model);
  writeFileSync(path, encodeOnnxModel(model));
  await rejectsWith(path, /initializer 'block_w' has dims \[1099511627776\], over 2\^31 elements/);
});
