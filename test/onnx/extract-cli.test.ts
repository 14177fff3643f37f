/**
 * `featurefx extract model.onnx` (the built command, `npm test` builds first): nodes by featurefx
 * names from a torch.onnx export, preprocessing from the file's fixed input size, and the errors.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { preprocessImage } from '../../src/cli/images.js';
import { loadNpy } from '../../src/io/npy.js';
import { OnnxModel } from '../../src/onnx/onnx-model.js';
import { fromData } from '../../src/tensor/creation.js';
import { imageFolder, readManifest, run } from '../cli/cli-helpers.js';
import { FIXTURES_DIR, assertClose } from '../helpers/compare-with-torch.js';

const REGNET = join(FIXTURES_DIR, 'onnx', 'regnet.onnx');

test('extract on an ONNX file: named nodes, preprocessing for its 64x64 input, the file as the weights', async () => {
  const dir = await imageFolder(3);
  const args = ['extract', REGNET, '--nodes', 'stem=early,trunk_output.block1', '--batch', '2', '--out', 'out'];
  const r = run([...args, 'images'], dir);
  assert.equal(r.status, 0, r.stderr);
  const job = (readManifest(join(dir, 'out')) as unknown as { job: Record<string, unknown> }).job;
  // torch.onnx fixed the height and width at 64: crop 64, resize 64 / 0.875 (as 224 to 256).
  assert.deepEqual(job.preprocessing, { resizeSize: 73, cropSize: 64, interpolation: 'bilinear' });
  assert.equal((job.weights as { file: string }).file, REGNET);
  const early = loadNpy(join(dir, 'out', 'early.npy'));
  assert.deepEqual([...early.shape], [3, 8, 32, 32]);
  assert.deepEqual([...loadNpy(join(dir, 'out', 'trunk_output.block1.npy')).shape], [3, 8, 16, 16]);
  const preset = { resizeSize: 73, cropSize: 64, interpolation: 'bilinear' } as const;
  const image = await preprocessImage(join(dir, 'images', 'img-00.png'), preset);
  const { stem } = (await OnnxModel.load(REGNET)).run(fromData('float32', [1, 3, 64, 64], image), ['stem']);
  const first = fromData('float32', [1, 8, 32, 32], (early.data as Float32Array).slice(0, 8 * 32 * 32));
  assertClose(first, stem!, { rtol: 1e-5, atol: 1e-5 }, 'the first image');
});

test('extract on an ONNX file refuses --weights and unknown nodes before writing anything', async () => {
  const dir = await imageFolder(1);
  const weights = run(['extract', REGNET, '--nodes', 'stem', '--weights', 'w.pth', '--out', 'out', 'images'], dir);
  assert.notEqual(weights.status, 0);
  assert.match(weights.stderr, /regnet\.onnx holds its own weights: drop --weights w\.pth/);
  const unknown = run(['extract', REGNET, '--nodes', 'trunk_output.blok1', '--out', 'out', 'images'], dir);
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /node 'trunk_output\.blok1' is not present .* Closest names: 'trunk_output\.block1'/);
  assert.ok(!existsSync(join(dir, 'out')));
});
