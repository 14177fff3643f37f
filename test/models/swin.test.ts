/**
 * Swin beyond the zoo fixtures: a small V1 + V2 configuration compiles with the eager numbers
 * (padding, shifting and odd patch merging included), one session for every batch size, and the
 * attention's argument check.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { compile } from '../../src/fx/compile.js';
import { exportOnnx } from '../../src/fx/onnx-export.js';
import {
  PatchMergingV2,
  ShiftedWindowAttention,
  SwinTransformer,
  SwinTransformerBlockV2,
  type SwinConfig,
} from '../../src/models/index.js';
import { randn } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/generator.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/compare-with-torch.js';

// 36x36 inputs give 9x9 tokens: padded to 12x12 windows of 4 and shifted by 2, then merged (odd,
// so padded) to 5x5, padded to 8x8.
const SMALL: SwinConfig = { patchSize: [4, 4], embedDim: 16, depths: [2, 2], numHeads: [1, 2], windowSize: [4, 4] };

for (const [version, options] of [
  ['V1', {}],
  ['V2', { block: SwinTransformerBlockV2, downsampleLayer: PatchMergingV2 }],
] as const) {
  test(`a Swin ${version} extractor gives the same outputs compiled as eager, at any batch and size, from one session`, () => {
    manualSeed(0);
    const model = new SwinTransformer(SMALL, { ...options, numClasses: 10 }).eval();
    const returnNodes = { 'features.1': 'stage1', 'features.2': 'merging', head: 'logits' };
    const extractor = createFeatureExtractor(model, { returnNodes });
    const compiled = compile(extractor);
    // 16x24 gives 4x6 tokens: one window high, so only the width shifts (torchvision zeroes the
    // shift along an axis that one window covers); 48x40 pads differently again.
    for (const [batch, h, w] of [
      [1, 36, 36],
      [3, 36, 36],
      [1, 16, 24],
      [2, 48, 40],
    ] as const) {
      const x = randn([batch, 3, h, w]);
      const eager = extractor.call(x) as Record<string, Tensor>;
      const out = compiled.call(x) as Record<string, Tensor>;
      if (h === 36) {
        assert.deepEqual([...eager.stage1!.shape], [batch, 9, 9, 16]);
        assert.deepEqual([...eager.merging!.shape], [batch, 5, 5, 32]);
      }
      for (const key of Object.values(returnNodes)) assertClose(out[key], eager[key]!, { rtol: 1e-4, atol: 1e-5 }, key);
    }
    // Padding, shifts and the mask are computed in the graph from the input's sizes (F.size), and
    // the batch is -1 in every reshape: one session for every shape.
    assert.equal(compiled.sessionCount, 1);
    exportOnnx(extractor, { inputShape: [1, 3, 36, 36], dynamicSize: true });
  });
}

test('Swin attention takes window and shift sizes as [height, width] pairs', () => {
  assert.throws(() => new ShiftedWindowAttention(16, [7], [3], 2), {
    name: 'RangeError',
    message:
      '[ShiftedWindowAttention] window_size and shift_size must be of length 2 ([height, width]), got [7] and [3]',
  });
});
