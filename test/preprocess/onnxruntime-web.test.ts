/**
 * The preprocessing graph in onnxruntime-web (its WebAssembly CPU backend, here under Node): the
 * operators it uses have the same kernels there, so browser users get torchvision's pixels and
 * tensor bit for bit too (scripts/fixtures/make_preprocess.py's hashes).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type * as OrtWeb from 'onnxruntime-web';
import { readRgb } from '../../src/cli/images.js';
import { encodeModel } from '../../src/runtime/onnx-model.js';
import { preprocessGraph, preprocessInputs } from '../../src/preprocess/image-classification.js';
import { PREPROCESS_DIR, type PreprocessCase, sha256 } from '../helpers/preprocess-fixtures.js';

const require = createRequire(import.meta.url);
describe('the preprocessing graph in onnxruntime-web', () => {
  it("gives torchvision's pixels and tensor, bilinear and bicubic (enlarging)", async () => {
    const ort = require('onnxruntime-web') as typeof OrtWeb;
    ort.env.wasm.numThreads = 1;
    const photo = JSON.parse(readFileSync(join(PREPROCESS_DIR, 'coffee.jpg.json'), 'utf8')) as {
      cases: PreprocessCase[];
    };
    const { rgb, width, height } = await readRgb(join(PREPROCESS_DIR, 'coffee.jpg'));
    for (const name of ['alexnet', 'efficientnet_v2_l']) {
      const c = photo.cases.find((x) => x.preset === name)!;
      const session = await ort.InferenceSession.create(encodeModel(preprocessGraph(c)), {
        executionProviders: ['wasm'],
      });
      const feeds = Object.fromEntries(
        preprocessInputs(c, rgb, width, height).map((t, i) => [
          session.inputNames[i]!,
          new ort.Tensor(t.type, t.data, t.dims),
        ]),
      );
      const out = await session.run(feeds);
      assert.equal(sha256(out.pixels!.data as Uint8Array), c.pixelsSha256, `${name}: pixels`);
      assert.equal(sha256(out.input!.data as Float32Array), c.inputSha256, `${name}: tensor`);
      await session.release();
    }
  });
});
