/**
 * Every zoo model up to 30M parameters gives the same outputs eager and compiled (one ONNX
 * Runtime session with graph optimisation 'all'), in eval mode: the trunk's output halfway
 * through the graph and the logits, as a feature extractor. Larger models share their code with a
 * smaller sibling here and are left out to keep the suite inside the CI budget.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { getGraphNodeNames } from '../../src/featureExtraction/get-graph-node-names.js';
import { compile } from '../../src/fx/compile.js';
import { getModel } from '../../src/models/index.js';
import { manualSeed } from '../../src/tensor/generator.js';
import { randn } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { classifiersUpTo } from '../helpers/zoo-sizes.js';

const MAX_PARAMETERS = 30e6;

/** ‖a − b‖ / ‖a‖: float32 rounding in ORT's fused kernels stays far below 1e-5 of the output. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += a[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}

for (const name of classifiersUpTo(MAX_PARAMETERS)) {
  test(`${name}: compiled outputs equal eager ones (trunk and logits)`, () => {
    manualSeed(0);
    const model = getModel(name);
    const [, evalNodes] = getGraphNodeNames(model, { suppressDiffWarning: true });
    const last = evalNodes[evalNodes.length - 1]!;
    // The top-level module running halfway through the graph; its name selects its last node.
    const mid = evalNodes[Math.floor(evalNodes.length / 2)]!.split('.')[0]!;
    const returnNodes = mid === last ? { [last]: 'logits' } : { [mid]: 'trunk', [last]: 'logits' };
    const extractor = createFeatureExtractor(model.eval(), { returnNodes, suppressDiffWarning: true });
    const size = name === 'inception_v3' ? 80 : 64;
    const x = randn([2, 3, size, size]);
    const eager = extractor.call(x) as Record<string, Tensor>;
    const compiled = compile(extractor).call(x) as Record<string, Tensor>;
    assert.deepEqual(Object.keys(compiled), Object.keys(eager));
    for (const [key, e] of Object.entries(eager)) {
      assert.deepEqual([...compiled[key]!.shape], [...e.shape], key);
      const error = relativeError(e.data as Float32Array, compiled[key]!.data as Float32Array);
      assert.ok(error <= 1e-5, `${key} (${returnNodes[key === 'trunk' ? mid : last] ?? key}): relative error ${error}`);
    }
  });
}
