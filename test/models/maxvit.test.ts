/**
 * MaxViT beyond the zoo fixtures: the traced graph compiles to ONNX with the eager numbers (one
 * session for every batch size), its input-size check, and the einsum and swapaxes ops it needs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { compile } from '../../src/fx/compile.js';
import { MaxVit, type MaxVitConfig, getModel, getRelativePositionIndex } from '../../src/models/index.js';
import { einsum } from '../../src/ops/einsum.js';
import { matmul } from '../../src/ops/matmul.js';
import { swapaxes } from '../../src/ops/swapaxes.js';
import { randn, tensor } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/generator.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/compare-with-torch.js';
import { formulaWeights } from '../helpers/formula-weights.js';
import { gradcheck } from '../helpers/gradcheck.js';

/** The zoo fixtures' small configuration (scripts/fixtures/make_models.py, SMALL_CONFIGS). */
const SMALL: MaxVitConfig = {
  inputSize: [32, 32],
  stemChannels: 8,
  partitionSize: 2,
  blockChannels: [8, 32],
  blockLayers: [1, 1],
  headDim: 8,
  stochasticDepthProb: 0.2,
  expansionRatio: 2,
  mlpRatio: 2,
};

test('a MaxViT extractor gives the same block outputs compiled as eager, at batch 1 and 2, from one session', () => {
  manualSeed(0);
  const model = new MaxVit(SMALL);
  model.loadStateDict(formulaWeights(model));
  const returnNodes = { 'blocks.0': 'block0', 'blocks.1.layers.0.layers.grid_attention': 'grid1' };
  const extractor = createFeatureExtractor(model.eval(), { returnNodes });
  const compiled = compile(extractor);
  for (const batch of [1, 2]) {
    const x = randn([batch, 3, 32, 32]);
    const eager = extractor.call(x) as Record<string, Tensor>;
    const out = compiled.call(x) as Record<string, Tensor>;
    assert.deepEqual([...eager.block0!.shape], [batch, 8, 8, 8]);
    assert.deepEqual([...eager.grid1!.shape], [batch, 32, 4, 4]);
    for (const key of ['block0', 'grid1']) assertClose(out[key], eager[key]!, { rtol: 1e-4, atol: 1e-5 }, key);
  }
  // Batch sizes stay graph values in every reshape, so both batches ran in one session.
  assert.equal(compiled.sessionCount, 1);
});

test("maxvit_t's inputSize (torchvision's input_size) must leave every block's input divisible by the partition size", () => {
  assert.throws(() => getModel('maxvit_t', { inputSize: [112, 112] }), {
    name: 'RangeError',
    message:
      'Input size (4, 4) of block 3 is not divisible by partition size 7. Consider changing the partition size ' +
      'or the input size.\nCurrent configuration yields the following block input sizes: [(28, 28), (14, 14), ' +
      '(7, 7), (4, 4)].',
  });
});

test("the relative position index is torchvision's (offsets into a (2P-1)² table)", () => {
  // torchvision's _get_relative_position_index(2, 2).
  const expected = [
    [4, 3, 1, 0],
    [5, 4, 2, 1],
    [7, 6, 4, 3],
    [8, 7, 5, 4],
  ];
  assert.deepEqual(Array.from(getRelativePositionIndex(2, 2).data as BigInt64Array, Number), expected.flat());
});

test('einsum computes batched products as matmul does, with spaces and capitals, and its gradients', () => {
  const q = randn([2, 3, 4, 5]);
  const k = randn([2, 3, 6, 5]);
  assertClose(einsum('B H I D, B H J D -> B H I J', q, k), matmul(q, k.transpose(-1, -2)), { atol: 1e-5 }, 'qk');
  // Implicit output: the letters used once, in alphabetical order (here a sum over j).
  const a = tensor([
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(Array.from(einsum('ij', a).data as Float32Array), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(einsum('ij->i', a).data as Float32Array), [3, 7]);
  const x = randn([2, 3], { dtype: 'float64' });
  const y = randn([3, 4], { dtype: 'float64' });
  // 'ij,jk->i' sums k out of y: its gradient is broadcast back along k.
  gradcheck((u, v) => einsum('ij,jk->i', u!, v!), [x, y]);
  gradcheck((u, v) => einsum('i j, j k -> k i', u!, v!), [x, y]);
});

test('einsum refuses what it does not support, naming the equation', () => {
  const a = randn([2, 2]);
  assert.throws(() => einsum('...ij->ij', a), { name: 'RangeError', message: /ellipses \(\.\.\.\) are not supported/ });
  assert.throws(() => einsum('ii->i', a), { name: 'RangeError', message: /'ii' in 'ii->i' repeats a letter/ });
  assert.throws(() => einsum('ij,jk->ik', a), { name: 'RangeError', message: /has 2 operand terms but 1 operands/ });
  assert.throws(() => einsum('ijk->i', a), { name: 'RangeError', message: /operand 0 has 2 dims \[2, 2\]/ });
  assert.throws(() => einsum('ij,jk->ik', a, randn([3, 2])), {
    name: 'RangeError',
    message: /letter 'j' of 'ij,jk->ik' has sizes 2 and 3/,
  });
  assert.throws(() => einsum('ij->ix', a), {
    name: 'RangeError',
    message: /output letter 'x' of 'ij->ix' is in no operand/,
  });
});

test('swapaxes is transpose, and differentiable', () => {
  const x = randn([2, 3, 4]);
  assertClose(swapaxes(x, -2, -3), x.transpose(0, 1), { rtol: 0, atol: 0 }, 'swapaxes');
  gradcheck((u) => swapaxes(u!, 0, 2), [randn([2, 3, 4], { dtype: 'float64' })]);
});
