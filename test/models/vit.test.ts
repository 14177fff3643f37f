/**
 * ViT beyond the zoo fixtures: the traced graph compiles to ONNX with the eager numbers, torchvision's
 * `image_size` option, its input-size error, and its checkpoints' pre-0.13 MLP keys.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { compile } from '../../src/fx/compile.js';
import { VisionTransformer, type VisionTransformerConfig } from '../../src/models/vision-transformer.js';
import { manualSeed } from '../../src/tensor/generator.js';
import { randn } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/compare-with-torch.js';
import { formulaWeights } from '../helpers/formula-weights.js';

/** The zoo fixtures' small configuration (scripts/fixtures/make_models.py, SMALL_CONFIGS). */
const SMALL: VisionTransformerConfig = {
  imageSize: 32,
  patchSize: 8,
  numLayers: 3,
  numHeads: 2,
  hiddenDim: 32,
  mlpDim: 64,
};

/** torchvision zeroes the head; the formula weights make every output depend on every weight. */
function smallVit(config: Partial<VisionTransformerConfig> = {}): VisionTransformer {
  const model = new VisionTransformer({ ...SMALL, ...config });
  model.loadStateDict(formulaWeights(model));
  return model.eval();
}

test('a ViT extractor gives the same encoder block output and logits compiled as eager, at batch 1 and 2, from one session', () => {
  manualSeed(0);
  const returnNodes = { 'encoder.layers.encoder_layer_1': 'layer1', 'heads.head': 'logits' };
  const extractor = createFeatureExtractor(smallVit(), { returnNodes });
  const compiled = compile(extractor);
  for (const batch of [1, 2]) {
    const x = randn([batch, 3, 32, 32]);
    const eager = extractor.call(x) as Record<string, Tensor>;
    const out = compiled.call(x) as Record<string, Tensor>;
    assert.deepEqual([...eager.layer1!.shape], [batch, 17, 32]);
    assert.deepEqual([...eager.logits!.shape], [batch, 1000]);
    for (const key of ['layer1', 'logits']) assertClose(out[key], eager[key]!, { rtol: 1e-4, atol: 1e-5 }, key);
  }
  // The attention leaf keeps the batch open (its sizes are constants when lowered): one session serves both.
  assert.equal(compiled.sessionCount, 1);
});

test("imageSize (torchvision's image_size) sets the input size; another size fails with torchvision's message", () => {
  const model = smallVit({ imageSize: 64, patchSize: 16, numLayers: 1 });
  assert.deepEqual([...model.encoder.pos_embedding.shape], [1, 17, 32]);
  assert.deepEqual([...model.call(randn([1, 3, 64, 64])).shape], [1, 1000]);
  const wrong = { name: 'RangeError', message: /^Wrong image height! Expected 64 but got 32! Resize the input/ };
  assert.throws(() => model.call(randn([1, 3, 32, 64])), wrong);
  assert.throws(() => model.call(randn([1, 3, 64, 48])), { message: /^Wrong image width! Expected 64 but got 48!/ });
  assert.throws(() => new VisionTransformer({ ...SMALL, imageSize: 30 }), {
    name: 'RangeError',
    message: /Input shape indivisible by patch size! imageSize 30 is not a multiple of patchSize 8/,
  });
});

test("a ViT extractor checks the input size as torchvision's does", () => {
  const model = smallVit({ imageSize: 64, patchSize: 16, numLayers: 1 });
  const extractor = createFeatureExtractor(model, { returnNodes: ['encoder.layers.encoder_layer_0'] });
  assert.throws(() => extractor.call(randn([1, 3, 32, 64])), {
    name: 'RangeError',
    message: /^Wrong image height! Expected 64 but got 32!/,
  });
});

test('checkpoints with the MLP keys of torchvision before 0.13 (mlp.linear_1, mlp.linear_2) load', () => {
  const source = smallVit();
  const legacy = new Map(
    [...source.stateDict()].map(([key, t]) => [
      key.replace(/\.mlp\.0\./, '.mlp.linear_1.').replace(/\.mlp\.3\./, '.mlp.linear_2.'),
      t,
    ]),
  );
  assert.ok(legacy.has('encoder.layers.encoder_layer_2.mlp.linear_2.bias'));
  const model = new VisionTransformer(SMALL);
  model.loadStateDict(legacy);
  const x = randn([1, 3, 32, 32]);
  assertClose(model.eval().call(x), source.call(x), { rtol: 0, atol: 0 }, 'logits');
});
