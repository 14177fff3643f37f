/**
 * featureInfo's layouts and toFeatureMaps: ViT's tokens and Swin's channels-last maps become NCHW
 * maps that a feature pyramid takes, as timm's forward_intermediates(output_fmt='NCHW').
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { featureInfo } from '../../src/featureExtraction/feature-info.js';
import { toFeatureMaps } from '../../src/featureExtraction/feature-maps.js';
import { getModel } from '../../src/models/index.js';
import { VisionTransformer } from '../../src/models/vision-transformer.js';
import { skipInit } from '../../src/nn/init.js';
import { randn } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

/** x[...index] of a contiguous tensor. */
function at(x: Tensor, index: readonly number[]): number {
  const offset = index.reduce((o, i, axis) => o * x.shape[axis]! + i, 0);
  return (x.data as Float32Array)[offset]!;
}

test('featureInfo tells tokens, channels-last and channels-first maps and vectors apart, with symbolic shapes', () => {
  const vit = createFeatureExtractor(skipInit(() => getModel('vit_b_16')).eval(), {
    returnNodes: ['encoder.layers.encoder_layer_3', 'heads'],
  });
  const [tokens, logits] = featureInfo(vit, { inputShape: [2, 3, 224, 224] });
  assert.deepEqual(
    { ...tokens },
    {
      key: 'encoder.layers.encoder_layer_3',
      shape: [2, 197, 768],
      dtype: 'float32',
      layout: 'NLC',
      channels: 768,
      reduction: 16,
      prefixTokens: 1,
      spatial: [14, 14],
      symbolicShape: ['N', '1+(H/16)*(W/16)', 768],
    },
  );
  assert.equal(logits!.layout, 'NC');
  assert.equal(logits!.channels, 1000);
  const swin = createFeatureExtractor(skipInit(() => getModel('swin_t')).eval(), {
    returnNodes: ['features.3', 'permute'],
  });
  const [stage, nchw] = featureInfo(swin, { inputShape: [1, 3, 224, 160] });
  assert.deepEqual(
    [stage!.layout, stage!.channels, stage!.reduction, stage!.spatial, stage!.symbolicShape],
    ['NHWC', 192, 8, [28, 20], ['N', 'H/8', 'W/8', 192]],
  );
  assert.deepEqual([nchw!.layout, nchw!.channels, nchw!.reduction], ['NCHW', 768, 32]);
});

test("toFeatureMaps lays ViT's tokens on their patch grid, its class token apart", () => {
  const model = new VisionTransformer({
    imageSize: 32,
    patchSize: 8,
    numLayers: 2,
    numHeads: 2,
    hiddenDim: 16,
    mlpDim: 32,
  });
  const extractor = createFeatureExtractor(model.eval(), {
    returnNodes: { 'encoder.layers.encoder_layer_1': 'block' },
  });
  const info = featureInfo(extractor, { inputShape: [1, 3, 32, 32] });
  const out = extractor.call(randn([3, 3, 32, 32])) as Record<string, Tensor>;
  const { maps, prefixTokens } = toFeatureMaps(out, info);
  const tokens = out.block!;
  assert.deepEqual(maps.block!.shape, [3, 16, 4, 4]);
  assert.deepEqual(prefixTokens.block!.shape, [3, 1, 16]);
  for (const [n, c, i, j] of [
    [0, 0, 0, 0],
    [1, 5, 2, 3],
    [2, 15, 3, 1],
  ] as const) {
    assert.equal(at(maps.block!, [n, c, i, j]), at(tokens, [n, 1 + i * 4 + j, c]));
    assert.equal(at(prefixTokens.block!, [n, 0, c]), at(tokens, [n, 0, c]));
  }
  assert.throws(() => toFeatureMaps({ block: randn([1, 5, 16]) }, info), {
    name: 'RangeError',
    message: /output 'block' has shape \[1, 5, 16\], but featureInfo describes \[1, 17, 16\]/,
  });
  const withLogits = createFeatureExtractor(model, { returnNodes: ['heads'] });
  assert.throws(
    () =>
      toFeatureMaps(
        withLogits.call(randn([1, 3, 32, 32])) as Record<string, Tensor>,
        featureInfo(withLogits, { inputShape: [1, 3, 32, 32] }),
      ),
    { name: 'RangeError', message: /output 'heads' is laid out NC .*not as a map or tokens/ },
  );
});

test("toFeatureMaps permutes Swin's channels-last stages to channels-first", () => {
  const extractor = createFeatureExtractor(getModel('swin_t').eval(), { returnNodes: ['features.1'] });
  const info = featureInfo(extractor, { inputShape: [1, 3, 64, 64] });
  const out = extractor.call(randn([2, 3, 64, 64])) as Record<string, Tensor>;
  const map = toFeatureMaps(out, info).maps['features.1']!;
  assert.deepEqual(map.shape, [2, 96, 16, 16]);
  for (const [n, c, i, j] of [
    [0, 0, 0, 0],
    [1, 50, 7, 11],
  ] as const) {
    assert.equal(at(map, [n, c, i, j]), at(out['features.1']!, [n, i, j, c]));
  }
});
