/**
 * The node catalogue (src/cli/catalogue.ts) against torchvision's node lists and featurefx's own
 * getGraphNodeNames and featureInfo, and the shipped file through the built command (`npm test`
 * builds first).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { catalogueEntry, type Catalogue, type CatalogueEntry } from '../../src/cli/catalogue.js';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { featureInfo } from '../../src/featureExtraction/feature-info.js';
import { getGraphNodeNames } from '../../src/featureExtraction/get-graph-node-names.js';
import { getModel, listModels } from '../../src/models/index.js';
import { skipInit } from '../../src/nn/init.js';
import { FIXTURES_DIR } from '../helpers/compare-with-torch.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');

const torchvision = JSON.parse(readFileSync(join(FIXTURES_DIR, 'models', 'names.json'), 'utf8')) as {
  models: Record<string, { train: string[]; eval: string[]; evalKinds: string[] }>;
};

/** The last node under a truncated name, as createFeatureExtractor picks it. */
const lastUnder = (entry: CatalogueEntry, prefix: string) =>
  entry.nodes.filter((n) => n.name.startsWith(`${prefix}.`)).at(-1)!;

// One model per kind of graph: plain, train/eval graphs that differ (auxiliary heads), nodes
// that are sizes and tuples rather than tensors, and the 299×299 input.
for (const name of ['resnet50', 'googlenet', 'shufflenet_v2_x1_0', 'inception_v3']) {
  test(`${name}: the catalogue's nodes are getGraphNodeNames' and torchvision's, with their kinds`, () => {
    const entry = catalogueEntry(name);
    const expected = torchvision.models[name]!;
    const [train, evalNodes] = getGraphNodeNames(
      skipInit(() => getModel(name)),
      { suppressDiffWarning: true },
    );
    const names = entry.nodes.map((n) => n.name);
    assert.deepEqual(names, evalNodes);
    assert.deepEqual(names, expected.eval);
    assert.deepEqual(
      entry.nodes.map((n) => `${n.name} ${n.kind}`),
      expected.eval.map((n, i) => `${n} ${expected.evalKinds[i]}`),
    );
    const trainDiffers = JSON.stringify(expected.train) !== JSON.stringify(expected.eval);
    assert.deepEqual(entry.trainNodes, trainDiffers ? train : undefined);
    if (trainDiffers) assert.deepEqual(entry.trainNodes, expected.train);
  });
}

test("resnet50's layers: shapes, channels and reductions are featureInfo's at 224×224", () => {
  const entry = catalogueEntry('resnet50');
  assert.deepEqual(entry.inputShape, [1, 3, 224, 224]);
  const layers = ['layer1', 'layer2', 'layer3', 'layer4'];
  const described = layers.map((layer) => {
    const { shape, channels, reduction } = lastUnder(entry, layer);
    return { shape, channels, reduction };
  });
  assert.deepEqual(described, [
    { shape: [1, 256, 56, 56], channels: 256, reduction: 4 },
    { shape: [1, 512, 28, 28], channels: 512, reduction: 8 },
    { shape: [1, 1024, 14, 14], channels: 1024, reduction: 16 },
    { shape: [1, 2048, 7, 7], channels: 2048, reduction: 32 },
  ]);
  const extractor = createFeatureExtractor(
    skipInit(() => getModel('resnet50')),
    { returnNodes: layers },
  );
  assert.deepEqual(
    described,
    featureInfo(extractor, { inputShape: [1, 3, 224, 224] }).map(({ shape, channels, reduction }) => ({
      shape,
      channels,
      reduction,
    })),
  );
  // The logits are vectors: channels, and no reduction.
  assert.deepEqual(entry.nodes.at(-1), {
    name: 'fc',
    kind: 'call_module',
    shape: [1, 1000],
    layout: 'NC',
    channels: 1000,
  });
});

test('inception_v3 is catalogued at 299×299, the input torchvision documents for it', () => {
  const entry = catalogueEntry('inception_v3');
  assert.deepEqual(entry.inputShape, [1, 3, 299, 299]);
  assert.deepEqual(lastUnder(entry, 'Mixed_7c').shape, [1, 2048, 8, 8]);
});

test('shufflenet_v2: nodes that are sizes have a name and kind but no shape', () => {
  const size = catalogueEntry('shufflenet_v2_x1_0').nodes.find((n) => n.name === 'stage2.0.size');
  assert.deepEqual(size, { name: 'stage2.0.size', kind: 'call_method' });
});

function featurefx(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('featurefx nodes --catalogue prints the shipped catalogue: JSON with every registered model', () => {
  const r = featurefx(['nodes', '--catalogue']);
  assert.equal(r.status, 0, r.stderr);
  const catalogue = JSON.parse(r.stdout) as Catalogue;
  assert.deepEqual(Object.keys(catalogue.models), listModels({ task: 'classification' }));
  assert.deepEqual(catalogue.models.resnet18, catalogueEntry('resnet18'));
});

test('featurefx nodes <model> --catalogue prints one entry; an unknown name or no name is an error', () => {
  const one = featurefx(['nodes', 'resnet18', '--catalogue']);
  assert.equal(one.status, 0, one.stderr);
  assert.deepEqual(JSON.parse(one.stdout), catalogueEntry('resnet18'));
  const unknown = featurefx(['nodes', 'resnet5', '--catalogue']);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /unknown model 'resnet5'\. Closest: resnet50/);
  const none = featurefx(['nodes']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /name a model \(`featurefx models` lists them\), or give --catalogue/);
});
