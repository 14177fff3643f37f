import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { onnxGraphNames } from '../../test/helpers/onnx-graph-names.js';
import { TestModule } from '../../test/helpers/example-modules.js';
import { createFeatureExtractor } from '../featureExtraction/create-feature-extractor.js';
import { resnet18 } from '../models/resnet.js';
import { Module } from '../nn/module.js';
import { F } from '../ops/index.js';
import { randn } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { compile } from './compile.js';
import type { GraphModule } from './graph-module.js';
import { type ExportOptions, exportOnnx, toGraphModule } from './onnx-export.js';
import { symbolicTrace } from './symbolic-trace.js';

/** Initializers that no node of the model reads: ONNX Runtime logs one line for each. */
function unreadInitializers(model: Uint8Array): string[] {
  const { initializers, nodeInputs } = onnxGraphNames(model);
  const read = new Set(nodeInputs.flat());
  return initializers.filter((name) => !read.has(name));
}

test('resnet18 exports only the initializers its nodes read, in train and in eval mode', () => {
  const model = resnet18();
  const evalModel = exportOnnx(model, { inputShape: [2, 3, 32, 32] });
  const trainModel = exportOnnx(model, { inputShape: [2, 3, 32, 32], mode: 'train' });
  assert.equal(model.training, true, "the module's own mode is left as it was");
  assert.deepEqual(unreadInitializers(evalModel), []);
  assert.deepEqual(unreadInitializers(trainModel), []);
  // Train mode normalises with the batch's statistics, so the running ones are not in the model.
  const trainNames = onnxGraphNames(trainModel).initializers;
  assert.ok(onnxGraphNames(evalModel).initializers.includes('layer1.0.bn1.running_mean'));
  assert.ok(trainNames.includes('layer1.0.bn1.weight'));
  assert.deepEqual(
    trainNames.filter((n) => /running_(mean|var)$/.test(n)),
    [],
  );
  // A train/eval feature extractor exports its train graph with mode 'train', which computes what
  // eager train mode does (batch statistics) with those initializers alone.
  const extractor = createFeatureExtractor(model, { returnNodes: ['layer2'] });
  assert.deepEqual(unreadInitializers(exportOnnx(extractor, { inputShape: [2, 3, 32, 32], mode: 'train' })), []);
  const x = randn([2, 3, 32, 32]);
  const compiled = compile(extractor, { mode: 'train' }).call(x) as Record<string, Tensor>;
  const eager = extractor.train().call(x) as Record<string, Tensor>;
  const a = eager.layer2!.data as Float32Array;
  const b = compiled.layer2!.data as Float32Array;
  assert.ok(
    a.every((v, i) => Math.abs(v - b[i]!) <= 1e-4 * (1 + Math.abs(v))),
    'train-mode outputs agree',
  );
});

test('exportOnnx takes any module (traced first) and writes the bytes it returns to path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-export-'));
  try {
    const path = join(dir, 'small.onnx');
    const bytes = exportOnnx(new TestModule(), { inputShape: [3, 4], path });
    assert.deepEqual(new Uint8Array(readFileSync(path)), bytes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a plain module is traced as symbolicTrace traces it, with featurefx's node names", () => {
  const model = new TestModule();
  let hookRuns = 0;
  model.submodule.registerForwardHook(() => void hookRuns++);
  const traced = toGraphModule(model, 'eval');
  const calls = (gm: GraphModule) => [...gm.graph.nodes()].map((n) => [n.op, String(n.target)]);
  assert.deepEqual(calls(traced), calls(symbolicTrace(model)), 'the same nodes');
  assert.deepEqual(
    [...traced.graph.nodes()].filter((n) => n.op !== 'output').map((n) => n.meta.qualname),
    ['x', 'submodule.add', 'submodule.add_1', 'submodule.relu', 'submodule.relu_1', 'add', 'add_1', 'relu', 'relu_1'],
  );
  traced.call(randn([3, 4]));
  assert.equal(hookRuns, 0, 'no hooks of the modules traced through, as after symbolicTrace');
  // The exported file's values are named by those names (the last one is the output, named 'output').
  const read = onnxGraphNames(exportOnnx(model, { inputShape: [3, 4] })).nodeInputs.flat();
  assert.ok(read.includes('submodule.add_1') && read.includes('relu'), read.join(', '));
});

test('exportOnnx checks its arguments and says how to call it', () => {
  const m = new TestModule();
  const cases: [unknown, ErrorConstructor, RegExp][] = [
    [
      'resnet50-c3c5.onnx',
      TypeError,
      /^exportOnnx\(module, path\) is not the signature; pass \{ inputShape: \[1, 3, 224, 224\], path: "resnet50-c3c5/,
    ],
    [undefined, TypeError, /options must be an object, got undefined; for example exportOnnx\(module, \{ inputShape/],
    [{}, TypeError, /options.inputShape is required/],
    [{ path: 'a.onnx' }, TypeError, /options.inputShape is required/],
    [{ inputShape: '1,3,224,224' }, TypeError, /inputShape must be an array of sizes, got the string "1,3,224,224"/],
    [{ inputShape: [3, 0] }, RangeError, /inputShape\[1\] must be a positive integer, got 0/],
    [{ inputShape: [3, -4] }, RangeError, /inputShape\[1\] must be a positive integer, got -4/],
    [{ inputShape: [3, 4.5] }, RangeError, /inputShape\[1\] must be a positive integer, got 4.5/],
    [
      {
        inputShape: [
          [3, 4],
          [2, '4'],
        ],
      },
      TypeError,
      /inputShape\[1\]\[1\] must be a positive integer, got the string/,
    ],
    [{ inputShape: [3, 4], shape: [3, 4] }, TypeError, /unknown option\(s\) "shape"; the options are inputShape/],
    [{ inputShape: [3, 4], mode: 'training' }, RangeError, /mode must be one of 'train', 'eval', got 'training'/],
    [{ inputShape: [3, 4], path: 42 }, TypeError, /path must be a file name such as 'model.onnx', got number 42/],
    [{ inputShape: [3, 4], dynamicBatch: 'yes' }, TypeError, /dynamicBatch must be true or false/],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(
      () => exportOnnx(m, options as ExportOptions),
      (e: unknown) => {
        assert.ok(e instanceof type, `${JSON.stringify(options)}: ${String(e)}`);
        assert.match((e as Error).message, message);
        return true;
      },
    );
  }
  assert.throws(() => exportOnnx('model' as unknown as Module, { inputShape: [3, 4] }), {
    name: 'TypeError',
    message: /exportOnnx: module must be a featurefx Module/,
  });
});

class WithConstant extends Module<[Tensor], Record<string, unknown>> {
  forward(x: Tensor): Record<string, unknown> {
    return { y: F.relu(x), k: 3 };
  }
}

test('outputs ONNX cannot hold are refused, naming the output', () => {
  assert.throws(() => exportOnnx(new WithConstant(), { inputShape: [2, 3] }), {
    name: 'ExportError',
    message: /the graph's output 'k' is number 3, not a tensor; .*return a tensor, a list of tensors or an object/,
  });
  const extractor = createFeatureExtractor(resnet18(), { returnNodes: { layer1: 'conv1.weight', layer2: 'layer2' } });
  assert.throws(() => exportOnnx(extractor, { inputShape: [1, 3, 32, 32] }), {
    name: 'ExportError',
    message: /the output key 'conv1.weight' is also the name of a parameter; ONNX needs distinct names/,
  });
});
