/**
 * Extraction from ONNX files (src/onnx/prune.ts, onnx-model.ts, onnx-feature-extractor.ts):
 * outputs of nodes picked by featurefx names from torch.onnx's exports (fixtures of
 * scripts/fixtures/make_onnx_exports.py) against torch's outputs and featurefx's own extractor for
 * the same weights; what pruning keeps (also through If subgraphs and local functions); the
 * session cache; errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FeatureExtractionError } from '../../src/errors.js';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { loadPth } from '../../src/io/pth.js';
import { RegNet } from '../../src/models/regnet.js';
import { getModel } from '../../src/models/index.js';
import { VisionTransformer } from '../../src/models/vision-transformer.js';
import type { Module } from '../../src/nn/module.js';
import { OnnxModel } from '../../src/onnx/onnx-model.js';
import { pruneModel } from '../../src/onnx/prune.js';
import { encodeOnnxModel } from '../../src/onnx/read-model.js';
import { NativeSession } from '../../src/runtime/native-session.js';
import { getNumThreads, setNumThreads } from '../../src/runtime/threads.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { FIXTURES_DIR, assertClose, fixtureTensor, loadFixture } from '../helpers/compare-with-torch.js';

const FAMILIES = ['densenet', 'mobilenet_v3', 'efficientnet', 'regnet', 'convnext', 'swin', 'shufflenet_v2', 'vit'];
const TOLERANCE = { rtol: 1e-5, atol: 1e-5 };

const fixturePath = (family: string): string => join(FIXTURES_DIR, 'onnx', `${family}.onnx`);

function fixtureCase(family: string): { input: Tensor; nodes: string[]; torch: Record<string, Tensor> } {
  const c = loadFixture(`onnx/${family}.json`)[0]!;
  const nodes = c.params.returnNodes as string[];
  return { input: fixtureTensor(c, 'input'), nodes, torch: Object.fromEntries(nodes.map((n) => [n, fixtureTensor(c, n)])) };
}

for (const family of FAMILIES) {
  test(`${family}: nodes picked from torch.onnx's export equal torch's outputs of those nodes`, async () => {
    const { input, nodes, torch } = fixtureCase(family);
    const extractor = createFeatureExtractor(await OnnxModel.load(fixturePath(family)), { returnNodes: nodes });
    const out = extractor.call(input);
    assert.deepEqual(Object.keys(out), nodes);
    for (const node of nodes) assertClose(out[node], torch[node]!, TOLERANCE, node);
  });
}

/** featurefx's model for a fixture's `build` spec (the families built by name or a short constructor). */
const BUILDERS: Record<string, (build: Record<string, unknown>) => Module> = {
  densenet: (b) => getModel(b.model as string, b.options as Record<string, unknown>),
  mobilenet_v3: (b) => getModel(b.model as string, b.options as Record<string, unknown>),
  regnet: (b) => new RegNet(b.stages as never, b.seRatio as number, b.options as Record<string, unknown>),
  vit: (b) => new VisionTransformer(b.options as never),
};

for (const [family, build] of Object.entries(BUILDERS)) {
  test(`${family}: the imported model's nodes equal featurefx's own extractor's for the same weights`, async () => {
    const c = loadFixture(`onnx/${family}.json`)[0]!;
    const { input, nodes } = fixtureCase(family);
    const model = build(c.params.build as Record<string, unknown>);
    model.loadStateDict(loadPth(join(FIXTURES_DIR, 'onnx', `${family}.pth`)));
    const own = createFeatureExtractor(model.eval(), { returnNodes: nodes }).eval();
    const expected = own.call(input) as Record<string, Tensor>;
    const onnx = await OnnxModel.load(fixturePath(family));
    const keyed = Object.fromEntries(nodes.map((n, i) => [n, `out${i}`]));
    const out = createFeatureExtractor(onnx, { returnNodes: keyed }).call(input);
    nodes.forEach((n, i) => assertClose(out[`out${i}`], expected[n]!, TOLERANCE, n));
  });
}

test('a truncated name picks the last node under it, as for a traced model', async () => {
  const onnx = await OnnxModel.load(fixturePath('regnet'));
  const names = onnx.nodeNames();
  const under = names.filter((n) => n.startsWith('trunk_output.block1.'));
  assert.ok(under.length > 1);
  const { input } = fixtureCase('regnet');
  const truncated = onnx.run(input, ['trunk_output.block1']);
  const full = onnx.run(input, [under.at(-1)!]);
  assert.deepEqual(truncated['trunk_output.block1']!.data, full[under.at(-1)!]!.data);
});

test('the pruned model keeps only the nodes and initializers the requested nodes need', async () => {
  const onnx = await OnnxModel.load(fixturePath('regnet'));
  // RegNet's stem is Conv (with the eval batch norm folded in: weight and bias) then ReLU.
  const stem = pruneModel(onnx.proto, [...onnx.featureExtractor(['stem']).outputs.values()]);
  assert.deepEqual(
    stem.graph!.node.map((n) => n.opType),
    ['Conv', 'Relu'],
  );
  assert.equal(stem.graph!.initializer.length, 2);
  assert.deepEqual(
    stem.graph!.input.map((v) => v.name),
    ['x'],
  );
  const all = onnx.proto.graph!;
  const block1 = onnx.featureExtractor(['trunk_output.block1']).toModel().graph!;
  assert.ok(block1.node.length > stem.graph!.node.length && block1.node.length < all.node.length);
  assert.ok(block1.initializer.length < all.initializer.length);
});

test('sessions are cached per set of outputs, bounded, least recently used dropped first', async () => {
  const onnx = OnnxModel.fromBytes(encodeOnnxModel((await OnnxModel.load(fixturePath('regnet'))).proto), {
    maxSessions: 2,
  });
  const { input } = fixtureCase('regnet');
  onnx.run(input, ['stem']);
  onnx.run(input, { stem: 'renamed' });
  assert.deepEqual(onnx.sessionStats, { built: 1, reused: 1 }, 'the same nodes under another key share a session');
  onnx.run(input, ['stem', 'trunk_output.block1']);
  onnx.run(input, ['trunk_output.block1', 'stem']);
  assert.deepEqual(onnx.sessionStats, { built: 2, reused: 2 }, 'order does not make a new set');
  onnx.run(input, ['trunk_output']);
  onnx.run(input, ['stem']);
  assert.deepEqual(onnx.sessionStats, { built: 4, reused: 2 }, "['stem'] was the least recently used of 2");
  const threads = getNumThreads();
  setNumThreads(threads + 1);
  try {
    onnx.run(input, ['stem']);
  } finally {
    setNumThreads(threads);
  }
  assert.deepEqual(onnx.sessionStats, { built: 5, reused: 2 }, 'a session keeps the thread count it was built with');
  onnx.dispose();
});

test('the extractor saves its pruned model with outputs named by the keys', async () => {
  const onnx = await OnnxModel.load(fixturePath('regnet'));
  const { input } = fixtureCase('regnet');
  const extractor = createFeatureExtractor(onnx, { returnNodes: { stem: 'early', trunk_output: 'late' } });
  const expected = extractor.call(input);
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-extract-'));
  try {
    extractor.save(join(dir, 'pruned.onnx'));
    const saved = await OnnxModel.load(join(dir, 'pruned.onnx'));
    assert.deepEqual(
      saved.proto.graph!.output.map((v) => v.name),
      ['early', 'late'],
    );
    const session = new NativeSession(extractor.toBytes(), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const [early, late] = session.run([{ type: input.dtype, dims: input.shape, data: input.data }]);
    assert.deepEqual(early!.data, expected.early!.data);
    assert.deepEqual(late!.data, expected.late!.data);
    session.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const clash = createFeatureExtractor(onnx, { returnNodes: { stem: 'x' } });
  assert.throws(() => clash.toBytes(), {
    name: 'RangeError',
    message: /the output key 'x' is also the name of a value in .*regnet\.onnx.*; choose another key/,
  });
});

test('errors: unknown nodes with the closest names, options that apply to tracing, wrong inputs', async () => {
  const onnx = await OnnxModel.load(fixturePath('regnet'));
  assert.throws(() => createFeatureExtractor(onnx, { returnNodes: ['trunk_output.blok1'] }), {
    name: 'FeatureExtractionError',
    message: new RegExp(
      "^node 'trunk_output\\.blok1' is not present in the ONNX model .*regnet\\.onnx\\. " +
        "Closest names: 'trunk_output\\.block1'.*getGraphNodeNames\\(onnxModel\\)",
    ),
  });
  assert.throws(() => createFeatureExtractor(onnx, { returnNodes: [] }), FeatureExtractionError);
  assert.throws(() => createFeatureExtractor(onnx, { trainReturnNodes: ['stem'], evalReturnNodes: ['stem'] }), {
    name: 'FeatureExtractionError',
    message: /an ONNX file holds one graph, exported in one mode: give returnNodes/,
  });
  assert.throws(() => createFeatureExtractor(onnx, { returnNodes: ['stem'], tracerOptions: {} }), {
    name: 'FeatureExtractionError',
    message: /^tracerOptions apply to tracing a Module; an ONNX file is not traced/,
  });
  assert.throws(() => createFeatureExtractor({} as never, { returnNodes: ['stem'] }), {
    name: 'TypeError',
    message: /createFeatureExtractor takes a Module or an OnnxModel .*, got an object$/,
  });
  const { input } = fixtureCase('regnet');
  assert.throws(() => onnx.run({ image: input }, ['stem']), {
    name: 'RangeError',
    message: /OnnxModel\.run: 'image' is not an input of .*regnet\.onnx; its inputs are 'x'/,
  });
  assert.throws(() => onnx.run({}, ['stem']), {
    name: 'TypeError',
    message: /the selected nodes need the input 'x', which was not given; pass \{ x: tensor \}/,
  });
  assert.throws(() => OnnxModel.fromBytes(encodeOnnxModel(onnx.proto), { maxSessions: 0 }), {
    name: 'RangeError',
    message: /maxSessions must be a positive integer, got 0/,
  });
  onnx.dispose();
});
