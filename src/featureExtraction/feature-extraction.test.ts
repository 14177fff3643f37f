/**
 * Ports of torchvision's feature-extraction tests (test_backbone_utils.py) and of the seed
 * documents' examples. Expected node lists come from torchvision itself
 * (scripts/fixtures/make_feature_extraction.py).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES_DIR } from '../../test/helpers/compare-with-torch.js';
import {
  CNN,
  ConvBlock,
  LeafModule,
  LenModule,
  MyModule,
  Shapes,
  TestModule,
  TrainEvalModel,
  leafFunction,
} from '../../test/helpers/example-modules.js';
import { FeatureExtractionError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { ones, rand } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { createFeatureExtractor } from './create-feature-extractor.js';
import { featureInfo } from './feature-info.js';
import { getGraphNodeNames } from './get-graph-node-names.js';

const TORCHVISION_NAMES = (
  JSON.parse(readFileSync(join(FIXTURES_DIR, 'feature-extraction', 'node-names.json'), 'utf8')) as {
    names: Record<string, { train: string[]; eval: string[] }>;
  }
).names;

function expected(name: string): { train: string[]; eval: string[] } {
  const lists = TORCHVISION_NAMES[name];
  if (lists === undefined) throw new Error(`no torchvision node list for ${name}`);
  return lists;
}

function assertNames(model: Module, fixture: string, options: Parameters<typeof getGraphNodeNames>[1] = {}): void {
  const [train, evalNodes] = getGraphNodeNames(model, { suppressDiffWarning: true, ...options });
  assert.deepEqual(train, expected(fixture).train, 'train-mode names');
  assert.deepEqual(evalNodes, expected(fixture).eval, 'eval-mode names');
}

/** Collects the process warnings emitted while `body` runs. */
async function warningsDuring(body: () => void): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error): void => void seen.push(w.message);
  process.on('warning', listener);
  try {
    body();
    // Process warnings are delivered on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

test('node names follow torchvision: module paths, op names and _{n} counters per parent', () => {
  assertNames(new TestModule(), 'TestModule');
});

test("the blog's toy CNN gives the blog's node list, and the short list with ConvBlock as a leaf", () => {
  assertNames(new CNN(3, 4, 10), 'CNN');
  assertNames(new CNN(3, 4, 10), 'CNN_leaf_ConvBlock', { tracerOptions: { leafModules: [ConvBlock] } });
});

test('sizes read by destructuring and indexing are nodes, counted per parent across calls', () => {
  assertNames(new Shapes(), 'Shapes');
});

test('train and eval graphs differ where forward branches on training, and the flag is restored', () => {
  const model = new TrainEvalModel().eval();
  assertNames(model, 'TrainEvalModel');
  assert.equal(model.training, false);
});

test('the train/eval test: dropout p=1 and training branches, in either starting mode', () => {
  const checks = (extractor: Module, mode: 'train' | 'eval'): void => {
    const out = extractor.call(ones([10, 10])) as Record<string, Tensor>;
    if (mode === 'train') {
      assert.equal(out.dropout!.item(), 0);
      assert.equal(out.sub!.item(), 100);
      assert.ok('add' in out && !('mul' in out));
    } else {
      assert.equal(out.dropout!.item(), 1);
      assert.equal(out.sub!.item(), 0);
      assert.ok('mul' in out && !('add' in out));
    }
  };
  const options = {
    trainReturnNodes: ['dropout', 'add', 'sub'],
    evalReturnNodes: ['dropout', 'mul', 'sub'],
    suppressDiffWarning: true,
  };
  const model = new TrainEvalModel().train();
  let extractor = createFeatureExtractor(model, options);
  assert.equal(model.training, true);
  assert.equal(extractor.training, true);
  checks(extractor, 'train');
  checks(extractor.eval(), 'eval');

  model.eval();
  extractor = createFeatureExtractor(model, options);
  assert.equal(model.training, false);
  assert.equal(extractor.training, false);
  checks(extractor, 'eval');
  checks(extractor.train(), 'train');
});

test("graph differences give torchvision's warning, unless suppressed", async () => {
  const model = new TrainEvalModel();
  const warned = await warningsDuring(() => getGraphNodeNames(model));
  assert.equal(warned.length, 1);
  assert.match(
    warned[0]!,
    /^The nodes obtained by tracing the model in train mode are different to those obtained in eval mode/,
  );
  assert.deepEqual(await warningsDuring(() => getGraphNodeNames(model, { suppressDiffWarning: true })), []);
  assert.deepEqual(await warningsDuring(() => getGraphNodeNames(new TestModule())), []);
});

test('leaf modules and leaf functions: one node each, and the extractor runs', () => {
  assertNames(new MyModule(), 'MyModule_leaf', {
    tracerOptions: { leafModules: [LeafModule], autowrapFunctions: [leafFunction] },
  });
  const extractor = createFeatureExtractor(new MyModule(), {
    returnNodes: ['leaf_module'],
    tracerOptions: { leafModules: [LeafModule], autowrapFunctions: [leafFunction] },
  }).train();
  const nodes = [...extractor.graph.nodes()].map((n) => n.name);
  assert.ok(!nodes.includes('relu') && nodes.includes('leaf_module'));
  const out = extractor.call(rand([1, 3, 5, 5])) as Record<string, Tensor>;
  assert.deepEqual([...out.leaf_module!.shape], [1, 1, 3, 3]);
});

test('without the leaf declarations the same model fails to trace with a TraceError that says why', () => {
  assert.throws(() => getGraphNodeNames(new MyModule()), { name: 'TraceError', message: /used as a JS number/ });
});

test("the blog's wrap('len') example", () => {
  assertNames(new LenModule(), 'LenModule');
  const extractor = createFeatureExtractor(new LenModule(), { returnNodes: ['add'] });
  const out = extractor.call(ones([2, 2])) as Record<string, Tensor>;
  assert.deepEqual(out.add!.toArray(), [
    [2, 2],
    [2, 2],
  ]);
});

test('return nodes as a list or a map, truncated names select the last node under them, order as requested', () => {
  const model = new CNN(3, 2, 10).eval();
  const asList = createFeatureExtractor(model, { returnNodes: ['blocks.1', 'blocks.0'] });
  const asMap = createFeatureExtractor(model, {
    returnNodes: { 'blocks.1.downsample': 'deep', 'blocks.0': 'shallow' },
  });
  const x = rand([1, 3, 32, 32]);
  const fromList = asList.call(x) as Record<string, Tensor>;
  const fromMap = asMap.call(x) as Record<string, Tensor>;
  assert.deepEqual(Object.keys(fromList), ['blocks.1', 'blocks.0']);
  assert.deepEqual(Object.keys(fromMap), ['deep', 'shallow']);
  assert.deepEqual([...fromList['blocks.0']!.shape], [1, 64, 16, 16]);
  assert.deepEqual(fromMap.deep!.toArray(), fromList['blocks.1']!.toArray());
  // The classifier is pruned, with its parameters.
  assert.ok(![...asList.stateDict().keys()].some((k) => k.startsWith('cls')));
  assert.ok(![...asList.graph.nodes()].some((n) => n.name === 'cls'));
});

test("argument checks, with torchvision's conditions", () => {
  const model = new TestModule();
  const nodes = ['relu'];
  const cases: [object, RegExp][] = [
    [{}, /Either `returnNodes` or `trainReturnNodes` and `evalReturnNodes`/],
    [{ returnNodes: nodes, trainReturnNodes: nodes, evalReturnNodes: nodes }, /`returnNodes` should not be specified/],
    [{ trainReturnNodes: nodes }, /both should be specified/],
    [{ returnNodes: [] }, /returnNodes is empty/],
    [{ returnNodes: { a: 'k', b: 'k' } }, /maps both 'a' and 'b' to the output key 'k'/],
    [{ relu: 'out' }, /unknown option\(s\) "relu".*returnNodes/],
  ];
  for (const [options, message] of cases) {
    assert.throws(
      () => createFeatureExtractor(model, options),
      (e: unknown) => {
        assert.ok(e instanceof FeatureExtractionError, String(e));
        assert.match(e.message, message);
        return true;
      },
    );
  }
});

test('an unknown node is an error listing the closest existing names', () => {
  assert.throws(() => createFeatureExtractor(new TestModule(), { returnNodes: ['submodule.relu_3'] }), {
    name: 'FeatureExtractionError',
    message: /node 'submodule\.relu_3' is not present.*Closest names: 'submodule\.relu_1', 'submodule\.relu'/,
  });
  // 'l' is a prefix of no node: torchvision's own invalid-node check.
  assert.throws(() => createFeatureExtractor(new TestModule(), { trainReturnNodes: ['l'], evalReturnNodes: ['l'] }), {
    name: 'FeatureExtractionError',
    message: /node 'l' is not present in the model traced in train mode/,
  });
  // 'submod' is a string prefix but not a path prefix.
  assert.throws(
    () => createFeatureExtractor(new TestModule(), { returnNodes: ['submod'] }),
    /Closest names: 'submodule'/,
  );
});

test('featureInfo gives shapes, channels and strides without running the model', () => {
  const extractor = createFeatureExtractor(new CNN(3, 3, 10), { returnNodes: ['blocks.0', 'blocks.2', 'cls'] });
  const brief = featureInfo(extractor, { inputShape: [2, 3, 64, 64] }).map((f) => [
    f.key,
    f.shape,
    f.layout,
    f.channels,
    f.reduction,
    f.symbolicShape,
  ]);
  assert.deepEqual(brief, [
    ['blocks.0', [2, 64, 32, 32], 'NCHW', 64, 2, ['N', 64, 'H/2', 'W/2']],
    ['blocks.2', [2, 256, 8, 8], 'NCHW', 256, 8, ['N', 256, 'H/8', 'W/8']],
    ['cls', [2, 10], 'NC', 10, undefined, ['N', 10]],
  ]);
});

test('counters stay per parent and exact in a 5,000-node model', () => {
  class Long extends TestModule {
    override forward(x: Tensor): Tensor {
      for (let i = 0; i < 5000; i++) x = x.add(1);
      return x;
    }
  }
  const [names] = getGraphNodeNames(new Long());
  assert.equal(names.length, 5001);
  assert.equal(names[1], 'add');
  assert.equal(names[5000], 'add_4999');
});
