/**
 * Readable names from ONNX files: torch.onnx's scopes -> featurefx's names (src/onnx/node-names.ts).
 *
 * For each fixture family (scripts/fixtures/make_onnx_exports.py) the names recovered from the file
 * are compared with torchvision's eval names for the same model. The exporter drops or merges some
 * nodes, so the names expected back are torchvision's list minus the kinds of node that leave no
 * node of their own in the file (see `keptByExport`, which derives them from torchvision's list and
 * the kind of each node, not from the recovered names).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { getGraphNodeNames } from '../../src/featureExtraction/get-graph-node-names.js';
import { nameOnnxNodes, scopePath } from '../../src/onnx/node-names.js';
import { OnnxModel } from '../../src/onnx/onnx-model.js';
import type { ModelProto, NodeProto } from '../../src/onnx/model-proto.js';
import { decodeOnnxModel } from '../../src/onnx/read-model.js';
import { FIXTURES_DIR, loadFixture } from '../helpers/compare-with-torch.js';

const FAMILIES = ['densenet', 'mobilenet_v3', 'efficientnet', 'regnet', 'convnext', 'swin', 'shufflenet_v2', 'vit'];

/** Modules that are no-ops in eval mode. */
const NO_OP_MODULES = new Set(['Dropout', 'StochasticDepth', 'Identity']);
/**
 * Functions that compute sizes or check them (torch.onnx folds them into constants or spells them as
 * Shape/Gather arithmetic), select from tuples, or that ONNX spells with other ops (view -> Reshape,
 * transpose -> Transpose, chunk -> Slices): whether the file has a node of that name is chance.
 */
const UNNAMED_FUNCTIONS = new Set([
  'getattr',
  'getitem',
  'eq',
  '_assert',
  'floordiv',
  'dim',
  'size',
  'contiguous',
  'view',
  'transpose',
  'chunk',
]);

/**
 * Whether the export keeps torchvision's node `names[i]` under the same name (true), drops or
 * renames it (false), or may have a node of that name by chance (undefined); see the file comment.
 */
function keptByExport(names: readonly string[], targets: readonly string[], i: number): boolean | undefined {
  const [name, target] = [names[i]!, targets[i]!];
  if (target === 'placeholder') return true;
  if (target === 'get_attr' || NO_OP_MODULES.has(target)) return false;
  // Eval-mode batch norm right after a convolution is folded into it.
  if (target === 'BatchNorm2d') return targets[i - 1] !== 'Conv2d';
  if (isModule(target)) return true;
  if (UNNAMED_FUNCTIONS.has(target)) return undefined;
  // torch.fx.wrap'ed torchvision functions are exported inline, in their caller's scope.
  if (target.startsWith('torchvision.')) return false;
  // The last function of a module made only of functions (ConvNeXt's LayerNorm2d) cannot be told
  // from a leaf module's node: the file names it by the module's path.
  const dot = name.lastIndexOf('.');
  if (dot < 0) return true;
  const parent = name.slice(0, dot + 1);
  const inParent = names.map((n, j) => j).filter((j) => names[j]!.startsWith(parent));
  if (inParent.some((j) => isModule(targets[j]!))) return true;
  return inParent.at(-1) !== i;
}

/** Module classes are capitalised (Conv2d, MLP); function and method names are not. */
function isModule(target: string): boolean {
  return /^[A-Z]/.test(target);
}

function readFixtureModel(family: string): ModelProto {
  return decodeOnnxModel(new Uint8Array(readFileSync(join(FIXTURES_DIR, 'onnx', `${family}.onnx`))));
}

for (const family of FAMILIES) {
  test(`${family}: the names recovered from torch.onnx's export include every name torchvision's list keeps`, () => {
    const params = loadFixture(`onnx/${family}.json`)[0]!.params as { evalNames: string[]; evalTargets: string[] };
    const recovered = nameOnnxNodes(readFixtureModel(family)).map((n) => n.name);
    assert.equal(new Set(recovered).size, recovered.length, 'names are unique');
    const found = new Set(recovered);
    const { evalNames: names, evalTargets: targets } = params;
    const kept = names.filter((_, i) => keptByExport(names, targets, i) === true);
    const agreed = names.filter((n, i) => found.has(n) && keptByExport(names, targets, i) !== undefined);
    assert.deepEqual(agreed, kept);
  });
}

test('entries come in topological order and name values the file has, with declared shapes', () => {
  const model = readFixtureModel('regnet');
  const named = nameOnnxNodes(model);
  const graph = model.graph!;
  const made = new Set(graph.input.map((i) => i.name));
  const producer = new Map<string, NodeProto>(graph.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
  for (const entry of named) {
    const node = producer.get(entry.output);
    if (node === undefined) {
      assert.equal(entry.kind, 'Input');
    } else {
      assert.equal(entry.kind, node.opType);
      for (const input of node.input)
        if (producer.has(input)) assert.ok(made.has(input), `${entry.name} after ${input}`);
    }
    made.add(entry.output);
  }
  assert.deepEqual(named[0], { name: 'x', kind: 'Input', output: 'x', shape: ['batch', 3, 64, 64] });
  assert.deepEqual(named.at(-1), { name: 'fc', kind: 'Gemm', output: 'logits', shape: ['batch', 10] });
  const se = named.find((n) => n.name === 'trunk_output.block1.block1-0.f.se')!;
  assert.equal(se.output, '/trunk_output/block1/block1-0/f/se/Mul_output_0');
  assert.equal(se.shape, undefined);
});

test('scope paths: segments joined by their overlap with the parent path', () => {
  assert.equal(scopePath('/layer1/layer1.0/conv1/Conv'), 'layer1.0.conv1');
  assert.equal(scopePath('/trunk_output/block1/block1-0/f/a/a.0/Conv'), 'trunk_output.block1.block1-0.f.a.0');
  assert.equal(scopePath('/features/features.0.0/Conv'), 'features.0.0');
  assert.equal(scopePath('/Flatten'), '');
  assert.equal(scopePath('Conv_3'), undefined);
  assert.equal(scopePath(undefined), undefined);
});

test('nodes without scopes keep their ONNX names, or are named by their op; repeats are counted; constants are not listed', () => {
  const node = (name: string | undefined, opType: string, input: string[], output: string): NodeProto => ({
    ...(name === undefined ? {} : { name }),
    opType,
    input,
    output: [output],
    attribute: [],
    metadataProps: [],
    deviceConfigurations: [],
  });
  const model = {
    opsetImport: [{ version: 17 }],
    metadataProps: [],
    trainingInfo: [],
    functions: [],
    configuration: [],
    graph: {
      node: [
        node('conv', 'Conv', ['input', 'w'], 'a'),
        node(undefined, 'Relu', ['a'], 'b'),
        node('w_copy', 'Identity', ['w'], 'w2'),
        node('conv', 'Conv', ['b', 'w2'], 'c'),
        node('', 'Constant', [], 'k'),
        node('', 'Add', ['c', 'k'], 'd'),
      ],
      initializer: [
        {
          name: 'w',
          dims: [1, 1, 1, 1],
          floatData: [1],
          int32Data: [],
          stringData: [],
          int64Data: [],
          externalData: [],
          uint64Data: [],
          doubleData: [],
        },
      ],
      sparseInitializer: [],
      input: [{ name: 'input' }, { name: 'w' }],
      output: [{ name: 'd' }],
      valueInfo: [],
      quantizationAnnotation: [],
      metadataProps: [],
    },
  } as unknown as ModelProto;
  assert.deepEqual(
    nameOnnxNodes(model).map((n) => [n.name, n.kind, n.output]),
    [
      ['input', 'Input', 'input'],
      ['conv', 'Conv', 'a'],
      ['relu', 'Relu', 'b'],
      ['conv_1', 'Conv', 'c'],
      ['add', 'Add', 'd'],
    ],
  );
});

test("getGraphNodeNames(onnxModel) lists the file's names twice (one graph), and refuses what is not a model", () => {
  const bytes = new Uint8Array(readFileSync(join(FIXTURES_DIR, 'onnx', 'vit.onnx')));
  const names = nameOnnxNodes(decodeOnnxModel(bytes)).map((n) => n.name);
  assert.deepEqual(getGraphNodeNames(OnnxModel.fromBytes(bytes)), [names, names]);
  assert.throws(
    () => getGraphNodeNames(bytes as unknown as OnnxModel),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message === "getGraphNodeNames takes a Module or an OnnxModel (OnnxModel.load('model.onnx')), got a Uint8Array",
  );
});
