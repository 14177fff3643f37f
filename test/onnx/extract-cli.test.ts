/**
 * `featurefx extract model.onnx` (the built command, `npm test` builds first): nodes by featurefx
 * names from a torch.onnx export, preprocessing from the file's fixed input size, and the errors.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { preprocessImage } from '../../src/cli/images.js';
import { loadOnnxSource } from '../../src/cli/onnx-source.js';
import { loadNpy } from '../../src/io/npy.js';
import type { ModelProto, ValueInfoProto } from '../../src/onnx/model-proto.js';
import { OnnxModel } from '../../src/onnx/onnx-model.js';
import { encodeOnnxModel } from '../../src/onnx/read-model.js';
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

test("an ONNX file's preprocessing: ImageNet's 256/224 for a dynamic size; refused for two inputs or a non-square size", async () => {
  const regnet = (await OnnxModel.load(REGNET)).proto;
  const graph = regnet.graph!;
  const input = graph.input[0]!;
  const withInputs = (inputs: ValueInfoProto[]): ModelProto => ({ ...regnet, graph: { ...graph, input: inputs } });
  const sized = (dims: (number | string)[]) => ({
    ...input,
    type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-onnx-source-'));
  const write = (name: string, model: ModelProto): string => {
    writeFileSync(join(dir, name), encodeOnnxModel(model));
    return join(dir, name);
  };
  try {
    const dynamic = await loadOnnxSource(write('dynamic.onnx', withInputs([sized(['n', 3, 'h', 'w'])])), { stem: 'stem' });
    assert.deepEqual(dynamic.preset, { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' });
    await assert.rejects(loadOnnxSource(write('wide.onnx', withInputs([sized(['n', 3, 48, 64])])), { stem: 'stem' }), {
      name: 'RangeError',
      message: /wide\.onnx takes 48x64 images; featurefx extract crops squares/,
    });
    const two = withInputs([input, { ...sized(['n', 3, 64, 64]), name: 'mask' }]);
    await assert.rejects(loadOnnxSource(write('two.onnx', two), { stem: 'stem' }), {
      name: 'RangeError',
      message: /two\.onnx has 2 inputs \(x, mask\); featurefx extract feeds one image batch/,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
