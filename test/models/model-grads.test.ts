/**
 * Whole-model gradients against PyTorch (scripts/fixtures/make_model_grads.py): for one model per
 * zoo family in train and in eval mode, with formula weights (random-looking batch-norm
 * statistics) and logits.json's input, the loss sum over three extracted nodes of mean(f ** 2)
 * is backpropagated (eval mode: an early, a middle and the last pooled node; train mode: three
 * early nodes, see the script's `return_nodes`), and every parameter's gradient must equal
 * torch's within 1e-4 of its norm elementwise; the norms themselves within 1e-3.
 * The fixture keeps each gradient as its norm, its dot product with sin(0.37 i + 1) and eight
 * sampled elements. Stochastic depth has p = 0 on both sides; no chosen node follows a dropout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { skipInit } from '../../src/nn/init.js';
import { getModel } from '../../src/models/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { fixtureTensor, loadFixture } from '../helpers/compare-with-torch.js';
import { formulaWeights } from '../helpers/formula-weights.js';
import { withoutRandomDrops } from '../helpers/no-random-drops.js';

interface GradSummary {
  norm: number;
  probe: number;
  values: number[];
}

const SAMPLES = 8;
const RTOL = 1e-4;
// A gradient that is zero in exact arithmetic (a bias before a train-mode batch norm) is float32
// rounding of the others: the absolute tolerance is 1e-6 of the case's largest gradient norm.
const ATOL = 1e-6;

/** make_model_grads.py's `sample_index`: one element in each eighth, at a scattered offset. */
function sampleIndex(n: number): number[] {
  if (n <= SAMPLES) return Array.from({ length: n }, (_, i) => i);
  const stride = Math.floor(n / SAMPLES);
  return Array.from({ length: SAMPLES }, (_, i) => Math.floor((i * n) / SAMPLES) + ((i * 7919) % stride));
}

function summarise(grad: Tensor): { norm: number; probe: number; at: (i: number) => number } {
  const data = grad.data as Float32Array;
  let squares = 0;
  let probe = 0;
  for (let i = 0; i < data.length; i++) {
    squares += data[i]! * data[i]!;
    probe += data[i]! * Math.sin(i * 0.37 + 1);
  }
  return { norm: Math.sqrt(squares), probe, at: (i) => data[i]! };
}

const inputs = new Map(loadFixture('models/logits.json').map((c) => [c.name, fixtureTensor(c, 'input')]));

for (const c of loadFixture('model-grads/grads.json')) {
  const { model: name, mode, returnNodes, grads } = c.params as {
    model: string;
    mode: 'train' | 'eval';
    returnNodes: Record<string, string>;
    grads: Record<string, GradSummary>;
  };
  test(`${name} in ${mode} mode: parameter gradients of a loss over three nodes equal PyTorch's`, () => {
    const model = skipInit(() => getModel(name));
    model.loadStateDict(formulaWeights(model));
    const extractor = createFeatureExtractor(withoutRandomDrops(model).train(mode === 'train'), { returnNodes });
    extractor.train(mode === 'train');
    const out = extractor.call(inputs.get(name)!) as Record<string, Tensor>;
    const terms = Object.values(returnNodes).map((key) => out[key]!.mul(out[key]!).mean());
    terms.reduce((a, b) => a.add(b)).backward();

    const atol = ATOL * Math.max(...Object.values(grads).map((g) => g.norm));
    const ours = new Map(extractor.namedParameters());
    assert.deepEqual([...ours.keys()].sort(), Object.keys(grads).sort(), "the extractor's parameters");
    for (const [key, expected] of Object.entries(grads)) {
      const grad = ours.get(key)!.grad;
      assert.ok(grad !== null, `${key} has a gradient`);
      const got = summarise(grad);
      const bound = RTOL * expected.norm + atol;
      // Rounding differences of 1e-4 * norm in a few thousand elements move the norm by more.
      const normBound = 1e-3 * expected.norm + atol;
      assert.ok(Math.abs(got.norm - expected.norm) <= normBound, `${key}: norm ${got.norm}, torch ${expected.norm}`);
      // A difference of size `bound` in every element moves the probe by about bound * |probe vector|.
      const probeBound = bound * Math.sqrt(grad.data.length / 2 + 1);
      assert.ok(Math.abs(got.probe - expected.probe) <= probeBound, `${key}: probe ${got.probe}, torch ${expected.probe}`);
      sampleIndex(grad.data.length).forEach((i, j) => {
        const want = expected.values[j]!;
        assert.ok(Math.abs(got.at(i) - want) <= bound, `${key}[${i}]: ${got.at(i)}, torch ${want} (bound ${bound})`);
      });
    }
  });
}
