/**
 * The zoo against torchvision 0.14 (fixtures from scripts/fixtures/make_models.py): node names in
 * train and eval mode and state-dict keys and shapes for every model, and numbers through a
 * feature extractor for one model per family (or a small configuration of its class: `config`).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { getGraphNodeNames } from '../../src/featureExtraction/get-graph-node-names.js';
import { NodePathTracer, withDefaultLeaves } from '../../src/featureExtraction/node-path-tracer.js';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { loadPth } from '../../src/io/pth.js';
import { skipInit } from '../../src/nn/init.js';
import * as zoo from '../../src/models/index.js';
import { getModel, listModels } from '../../src/models/index.js';
import type { Module } from '../../src/nn/module.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { FIXTURES_DIR, assertClose, fixtureTensor, loadFixture } from '../helpers/compare-with-torch.js';
import { formulaWeights } from '../helpers/formula-weights.js';

interface ModelFixture {
  family: string;
  train: string[];
  eval: string[];
  evalKinds: string[];
  stateDict: Record<string, number[]>;
}

const fixture = JSON.parse(readFileSync(join(FIXTURES_DIR, 'models', 'names.json'), 'utf8')) as {
  models: Record<string, ModelFixture>;
};

for (const [name, expected] of Object.entries(fixture.models)) {
  test(`${name}: node names and state dict equal torchvision's`, () => {
    assert.ok(listModels().includes(name), `${name} is registered`);
    // Names and shapes need no weights: skipInit keeps the largest models quick to build.
    const model = skipInit(() => getModel(name));
    const [train, evalNodes] = getGraphNodeNames(model, { suppressDiffWarning: true });
    assert.deepEqual(train, expected.train, 'train-mode node names');
    assert.deepEqual(evalNodes, expected.eval, 'eval-mode node names');
    const tracer = new NodePathTracer(withDefaultLeaves({}));
    tracer.trace(model.eval());
    const kinds = [...tracer.nodeToQualname.keys()].map((node) => node.op);
    assert.deepEqual(
      kinds.map((k, i) => `${evalNodes[i]} ${k}`),
      expected.evalKinds.map((k, i) => `${evalNodes[i]} ${k}`),
      'eval-mode node kinds',
    );
    const keys = Object.fromEntries([...model.stateDict()].map(([k, t]) => [k, [...t.shape]]));
    assert.deepEqual(keys, expected.stateDict);
  });
}

/** A small configuration of a zoo class, for families whose smallest model is too big to fixture (SMALL_CONFIGS). */
interface SmallConfig {
  class: string;
  options: Record<string, unknown>;
}

/** The model a numbers, logits or init case was made with: the named model, or its `config`. */
function buildModel(name: string, config: SmallConfig | undefined): Module {
  if (config === undefined) return getModel(name);
  const cls = (zoo as Record<string, unknown>)[config.class] as new (options: Record<string, unknown>) => Module;
  return new cls(config.options);
}

const NUMBER_FAMILIES = readdirSync(join(FIXTURES_DIR, 'models'))
  .filter((f) => f.endsWith('-numbers.json'))
  .map((f) => f.slice(0, -'-numbers.json'.length));

for (const family of NUMBER_FAMILIES) {
  for (const c of loadFixture(`models/${family}-numbers.json`)) {
    test(`${c.name}: features through createFeatureExtractor match PyTorch with torch's weights`, () => {
      const returnNodes = c.params.returnNodes as Record<string, string>;
      // Every parameter the extractor keeps is loaded below, so none is drawn at random.
      const model = skipInit(() => buildModel(c.name, c.params.config as SmallConfig | undefined));
      const extractor = createFeatureExtractor(model.eval(), { returnNodes });
      // The pruned extractor holds exactly the parameters torchvision's pruned extractor saved, but
      // for tensor constants (MaxViT's flattened relative position index): torch.fx numbers them on
      // through both traces (_tensor_constant0, ...), featurefx per trace (_tensor_constant_train0,
      // ...); both are computed from the model, not loaded.
      const loaded = extractor.loadStateDict(loadPth(join(FIXTURES_DIR, 'models', `${family}-numbers.pth`)), {
        strict: false,
      });
      const notConstant = (key: string): boolean => !key.startsWith('_tensor_constant');
      assert.deepEqual(loaded.missingKeys.filter(notConstant), [], 'missing keys');
      assert.deepEqual(loaded.unexpectedKeys.filter(notConstant), [], 'unexpected keys');
      const out = extractor.call(fixtureTensor(c, 'input')) as Record<string, Tensor>;
      for (const key of Object.values(returnNodes))
        assertClose(out[key], fixtureTensor(c, key), { rtol: 1e-4, atol: 1e-4 }, key);
    });
  }
}

for (const c of loadFixture('models/logits.json')) {
  test(`${c.name}: eval-mode logits of the whole model match PyTorch (formula weights)`, () => {
    // The formula replaces every tensor (loadStateDict is strict), so none is drawn at random.
    const model = skipInit(() => buildModel(c.name, c.params.config as SmallConfig | undefined)).eval();
    model.loadStateDict(formulaWeights(model));
    const expected = fixtureTensor(c, 'logits');
    // Relative to the logits' scale: a few logits near zero carry the rounding of large ones.
    const scale = Math.max(...Array.from(expected.data as Float32Array, Math.abs));
    assertClose(model.call(fixtureTensor(c, 'input')), expected, { rtol: 1e-4, atol: 1e-4 * scale }, 'logits');
  });
}

const initFixture = JSON.parse(readFileSync(join(FIXTURES_DIR, 'models', 'init.json'), 'utf8')) as {
  models: Record<string, Record<string, [mean: number, std: number, numel: number]>>;
  configs?: Record<string, SmallConfig>;
};

for (const [name, stats] of Object.entries(initFixture.models)) {
  test(`${name}: a new model is initialised as torchvision initialises it (each tensor's mean and std)`, () => {
    const state = buildModel(name, initFixture.configs?.[name]).stateDict();
    for (const [key, [mean, std, numel]] of Object.entries(stats)) {
      const values = state.get(key)!.data as Float32Array;
      let sum = 0;
      for (const v of values) sum += v;
      const ourMean = sum / values.length;
      let squares = 0;
      for (const v of values) squares += (v - ourMean) ** 2;
      const ourStd = values.length > 1 ? Math.sqrt(squares / (values.length - 1)) : 0;
      if (std === 0) {
        // Constants (norm weights, zeroed biases, running statistics) exactly.
        assert.ok(
          ourStd === 0 && Math.abs(ourMean - mean) < 1e-6,
          `${key}: mean ${ourMean}, std ${ourStd}; torchvision ${mean}, 0`,
        );
      } else if (numel >= 1000) {
        // Random tensors by their distribution; 1000 samples keep sampling error near 2%.
        assert.ok(Math.abs(ourStd - std) <= 0.1 * std, `${key}: std ${ourStd}, torchvision ${std}`);
        assert.ok(Math.abs(ourMean - mean) <= 0.15 * std, `${key}: mean ${ourMean}, torchvision ${mean}`);
      }
    }
  });
}

test('an unknown model name suggests close ones', () => {
  assert.throws(() => getModel('resnet5'), {
    name: 'RangeError',
    message: /unknown model 'resnet5'\. Closest: .*resnet50/,
  });
});

test("getModel refuses options the family does not have, and names torchvision's spelling in camelCase", () => {
  assert.throws(() => getModel('resnet50', { num_classes: 10 }), {
    name: 'RangeError',
    message:
      "[getModel] resnet50 has no option 'num_classes' (featurefx spells it 'numClasses'); its options: numClasses, zeroInitResidual, groups, widthPerGroup, replaceStrideWithDilation",
  });
  assert.throws(
    () => getModel('mobilenet_v2', { stochasticDepthProb: 0.1 }),
    /mobilenet_v2 has no option 'stochasticDepthProb'/,
  );
  assert.throws(() => getModel('vgg11', { numClasses: 0 }), /numClasses must be a positive integer, got 0/);
  const model = getModel('efficientnet_b0', { numClasses: 10, dropout: 0.3 });
  assert.deepEqual([...model.stateDict().get('classifier.1.weight')!.shape], [10, 1280]);
});
