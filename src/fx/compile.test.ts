import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { CNN, LenModule, TestModule } from '../../test/helpers/example-modules.js';
import { createFeatureExtractor } from '../featureExtraction/create-feature-extractor.js';
import { resnet18 } from '../models/resnet.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Module } from '../nn/module.js';
import { StochasticDepth } from '../nn/vision-ops/stochastic-depth.js';
import { SGD } from '../optim/sgd.js';
import { F } from '../ops/index.js';
import { NativeSession } from '../runtime/native-session.js';
import { randn } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { CompiledModule, compile } from './compile.js';
import type { GraphModule } from './graph-module.js';
import { exportOnnx } from './onnx-export.js';
import { symbolicTrace } from './symbolic-trace.js';

function assertParity(eager: Record<string, Tensor>, compiled: Record<string, Tensor>, tol = 1e-5): void {
  assert.deepEqual(Object.keys(compiled), Object.keys(eager));
  for (const [key, e] of Object.entries(eager)) {
    const c = compiled[key]!;
    assert.deepEqual([...c.shape], [...e.shape], key);
    const a = e.data as Float32Array;
    const b = c.data as Float32Array;
    for (let i = 0; i < a.length; i++) {
      assert.ok(
        Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(a[i]!)),
        `${key}[${i}]: eager ${a[i]}, compiled ${b[i]}`,
      );
    }
  }
}

test('compiled feature extractors give the eager outputs (toy CNN, torchvision test module)', () => {
  const cnn = createFeatureExtractor(new CNN(3, 3, 10).eval(), {
    returnNodes: ['blocks.0', 'blocks.2.convs.1', 'cls'],
  });
  const x = randn([2, 3, 32, 32]);
  assertParity(cnn.call(x) as Record<string, Tensor>, compile(cnn).call(x) as Record<string, Tensor>);
  const small = createFeatureExtractor(new TestModule(), { returnNodes: ['submodule.relu_1', 'add_1'] });
  const y = randn([3, 4]);
  assertParity(small.eval().call(y) as Record<string, Tensor>, compile(small).call(y) as Record<string, Tensor>);
});

test('compiled resnet18 matches eager at every stage, with a dynamic batch size', async () => {
  const extractor = createFeatureExtractor(resnet18().eval(), {
    returnNodes: ['layer1', 'layer2', 'layer3', 'layer4', 'fc'],
  });
  const compiled = compile(extractor);
  for (const batch of [1, 3]) {
    const x = randn([batch, 3, 64, 64]);
    assertParity(extractor.call(x) as Record<string, Tensor>, compiled.call(x) as Record<string, Tensor>);
  }
  const x = randn([2, 3, 64, 64]);
  assertParity(compiled.call(x) as Record<string, Tensor>, (await compiled.run(x)) as Record<string, Tensor>, 0);
});

test('an exported model reloads in onnxruntime-node with the same outputs, keys as output names, node names kept', async () => {
  const extractor = createFeatureExtractor(resnet18().eval(), { returnNodes: { layer2: 'mid', layer3: 'deep' } });
  const bytes = exportOnnx(extractor, { inputShape: [1, 3, 64, 64] });
  const session = await ort.InferenceSession.create(bytes);
  assert.deepEqual(session.inputNames, ['x']);
  assert.deepEqual(session.outputNames, ['mid', 'deep']);
  const x = randn([2, 3, 64, 64]);
  const result = await session.run({ x: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) });
  const eager = extractor.call(x) as Record<string, Tensor>;
  for (const key of ['mid', 'deep']) {
    const e = eager[key]!.data as Float32Array;
    const r = result[key]!.data as Float32Array;
    assert.deepEqual([...result[key]!.dims], [...eager[key]!.shape]);
    assert.ok(
      e.every((v, i) => Math.abs(v - r[i]!) <= 1e-5 * (1 + Math.abs(v))),
      key,
    );
  }
  const text = Buffer.from(bytes);
  assert.ok(text.includes('/layer3/layer3.1/conv2/Conv'), 'ONNX nodes carry the featurefx node names, scoped');
  assert.ok(text.includes('layer3.1.conv2.weight'), 'initializers are named by parameter path');
  assert.ok(
    !text.includes('layer4.0.conv1.weight') && !text.includes('fc.weight'),
    'pruned parameters are not exported',
  );
});

test('a wrapped JavaScript function is lowered by running it, and a size it reads ties an export to that size', () => {
  const extractor = createFeatureExtractor(new LenModule(), { returnNodes: { len: 'n', add: 'y' } });
  // len(x) returns x.shape[0] as a JS number: the graph holds it as a constant.
  assert.throws(() => exportOnnx(extractor, { inputShape: [2, 2] }), {
    name: 'ExportError',
    message: /cannot make the batch size dynamic: the graph for input shape \[\[3,2\]\] differs .*dynamicBatch: false/,
  });
  exportOnnx(extractor, { inputShape: [2, 2], dynamicBatch: false });
  const compiled = compile(extractor);
  for (const batch of [2, 3]) {
    const out = compiled.call(randn([batch, 2])) as Record<string, unknown>;
    assert.equal(out.n, batch);
  }
  // Compiled, the size is computed in JavaScript next to the session, which both batch sizes share.
  assert.equal(compiled.sessionCount, 1);
});

/** A convolution and an adaptive pooling to 3×3, whose windows depend on the input size. */
class AdaptiveNet extends Module<[Tensor], Tensor> {
  conv = new Conv2d(3, 4, 3, { padding: 1 });
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(this.conv.call(x), [3, 3]);
  }
}

/** A leaf whose JavaScript computes with a size: lowered, the size is a constant of the graph. */
class ScaleBySize extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    return x.mul(x.shape[2]!);
  }
}

class ScaledNet extends Module<[Tensor], Tensor> {
  conv = new Conv2d(3, 4, 3, { padding: 1 });
  scale = new ScaleBySize();
  forward(x: Tensor): Tensor {
    return this.scale.call(this.conv.call(x));
  }
}

/** An extractor whose graph differs for every input size (and not for the batch size). */
const sizeSpecific = (): GraphModule =>
  createFeatureExtractor(new ScaledNet().eval(), {
    returnNodes: ['conv', 'scale'],
    tracerOptions: { leafModules: [ScaleBySize] },
  });

/** Compiles `module`, checks it against eager on each shape, and says how many sessions it built. */
function sessionsFor(module: Module<[Tensor], unknown>, shapes: readonly number[][]): number {
  const compiled = compile(module);
  for (const shape of shapes) {
    const x = randn(shape);
    const eager = module.call(x);
    const out = compiled.call(x);
    const asRecord = (v: unknown): Record<string, Tensor> =>
      v instanceof Tensor ? { y: v } : (v as Record<string, Tensor>);
    assertParity(asRecord(eager), asRecord(out));
  }
  return compiled.sessionCount;
}

test('one compiled session serves every batch and spatial size whose graph is the same', () => {
  const extractor = createFeatureExtractor(resnet18().eval(), { returnNodes: ['layer2', 'fc'] });
  const shapes = [
    [1, 3, 64, 64],
    [4, 3, 64, 64],
    [1, 3, 96, 128],
    [2, 3, 160, 96],
  ];
  assert.equal(sessionsFor(extractor, shapes), 1);
  const small = [
    [1, 3, 8, 8],
    [5, 3, 8, 8],
    [1, 3, 10, 10],
  ];
  // Adaptive pooling's windows are computed in the graph from the input size: one session too.
  assert.equal(sessionsFor(new AdaptiveNet().eval(), small), 1);
  // JavaScript in a leaf that computes with a size: one session per size, batch shared.
  assert.equal(sessionsFor(sizeSpecific(), small), 2);
});

/** Compiled and eager results have the same structure (tensor, list, or object with its keys in order) and values. */
function assertSameResult(eager: unknown, compiled: unknown, label: string): void {
  if (eager instanceof Tensor) {
    assert.ok(compiled instanceof Tensor, `${label}: eager returns a tensor, compiled ${String(compiled)}`);
    assertParity({ [label]: eager }, { [label]: compiled });
  } else if (Array.isArray(eager)) {
    assert.ok(Array.isArray(compiled), `${label}: eager returns a list`);
    const byIndex = (list: Tensor[]): Record<string, Tensor> => Object.fromEntries(list.map((t, i) => [i, t]));
    assertParity(byIndex(eager as Tensor[]), byIndex(compiled as Tensor[]));
  } else {
    assert.ok(!(compiled instanceof Tensor) && !Array.isArray(compiled), `${label}: eager returns an object`);
    assertParity(eager as Record<string, Tensor>, compiled as Record<string, Tensor>);
  }
}

class Pair extends Module<[Tensor], Tensor[]> {
  forward(x: Tensor): Tensor[] {
    return [F.relu(x), x.add(1)];
  }
}

class One extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

/** Returns sizes, which eager code gives as JS numbers: one dynamic (the batch), one fixed. */
class WithSizes extends Module<[Tensor], Record<string, unknown>> {
  forward(x: Tensor): Record<string, unknown> {
    return { y: F.relu(x), n: x.shape[0], c: x.shape[1] };
  }
}

test('compiled modules return what eager ones do, whatever the output keys are called', () => {
  const x = randn([3, 4]);
  const keyMaps: Record<string, string>[] = [
    { add_1: 'output' },
    { add_1: 'output_0' },
    { relu: 'output_1', add_1: 'output_0' },
    // Integer-like keys come first in a JS object whatever order they are given in.
    { 'submodule.relu_1': 'feat', 'submodule.add': '1', add_1: 'output', relu: '0', relu_1: 'output_0' },
  ];
  for (const returnNodes of keyMaps) {
    const extractor = createFeatureExtractor(new TestModule(), { returnNodes }).eval();
    const eager = extractor.call(x);
    const compiled = compile(extractor).call(x);
    assert.deepEqual(Object.keys(compiled as object), Object.keys(eager as object), JSON.stringify(returnNodes));
    assertSameResult(eager, compiled, JSON.stringify(returnNodes));
  }
  const mixed = compile(createFeatureExtractor(new TestModule(), { returnNodes: keyMaps[3]! })).call(x);
  assert.deepEqual(Object.keys(mixed as object), ['0', '1', 'feat', 'output', 'output_0']);
  for (const module of [new Pair(), new One()]) {
    const traced = symbolicTrace(module);
    assertSameResult(traced.call(x), compile(traced).call(x), module.className);
  }
  const sizes = compile(new WithSizes());
  for (const batch of [2, 5]) {
    const { y, ...rest } = sizes.call(randn([batch, 4])) as Record<string, unknown>;
    assert.ok(y instanceof Tensor);
    assert.deepEqual(rest, { n: batch, c: 4 }, 'sizes come back as JS numbers, as eager code gives them');
  }
});

test('compile keeps at most maxSessions sessions, disposing the least recently used, and stays correct', (t) => {
  const disposed = t.mock.method(NativeSession.prototype, 'dispose');
  const extractor = sizeSpecific();
  const compiled = compile(extractor, { maxSessions: 2 });
  const check = (size: number): void => {
    const x = randn([1, 3, size, size]);
    assertParity(extractor.call(x) as Record<string, Tensor>, compiled.call(x) as Record<string, Tensor>);
  };
  for (const size of [8, 10, 12, 14]) check(size);
  assert.equal(compiled.sessionCount, 2);
  assert.equal(disposed.mock.callCount(), 2, 'the two evicted sessions are disposed');
  check(12); // still cached: 12 becomes the most recently used, so 14 is evicted next
  check(8); // evicted earlier: rebuilt
  assert.equal(compiled.sessionCount, 2);
  assert.equal(disposed.mock.callCount(), 3);
  check(12);
  assert.equal(disposed.mock.callCount(), 3, '12 was kept over 14');
  compiled.dispose();
  assert.equal(compiled.sessionCount, 0);
  assert.equal(disposed.mock.callCount(), 5);
});

test('compile checks its options and says what is wrong', () => {
  const model = new One();
  const cases: [unknown, ErrorConstructor, RegExp][] = [
    ['train', TypeError, /compile\(module, options\): options must be an object, got the string "train"/],
    [{ mode: 'training' }, RangeError, /compile: mode must be one of 'train', 'eval', got 'training'/],
    [{ numThreads: 0 }, RangeError, /compile: numThreads must be a positive integer, got 0/],
    [{ numThreads: 1.5 }, RangeError, /numThreads must be a positive integer, got 1.5/],
    [{ numThreads: '2' }, TypeError, /numThreads must be a positive integer, got the string "2"/],
    [{ maxSessions: 0 }, RangeError, /compile: maxSessions must be a positive integer, got 0/],
    [{ graphOptimizationLevel: 'max' }, RangeError, /graphOptimizationLevel must be one of 'disabled', 'basic'/],
    [{ threads: 2 }, TypeError, /unknown option\(s\) "threads"; the options are mode, numThreads, .*maxSessions/],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(
      () => compile(model, options as object),
      (e: unknown) => {
        assert.ok(e instanceof type, `${JSON.stringify(options)}: ${String(e)}`);
        assert.match((e as Error).message, message);
        return true;
      },
    );
  }
  assert.throws(() => compile({} as Module), {
    name: 'TypeError',
    message: /compile: module must be a featurefx Module/,
  });
  assert.throws(() => new CompiledModule(model as unknown as GraphModule), {
    name: 'TypeError',
    message: /CompiledModule takes a GraphModule; use compile\(module\)/,
  });
});

test('a compiled module follows its weights: an optimizer step and a loaded state dict reach it', () => {
  const model = new CNN(3, 3, 10).eval();
  const extractor = createFeatureExtractor(model, { returnNodes: ['cls'] });
  const compiled = compile(extractor);
  const x = randn([2, 3, 32, 32]);
  compiled.call(x);
  const before = compiled.sessionCount;
  const optimizer = new SGD(model.parameters(), { lr: 0.5 });
  (extractor.call(x) as Record<string, Tensor>).cls!.sum().backward();
  optimizer.step();
  assertParity(extractor.call(x) as Record<string, Tensor>, compiled.call(x) as Record<string, Tensor>);
  model.loadStateDict(new CNN(3, 3, 10).stateDict());
  assertParity(extractor.call(x) as Record<string, Tensor>, compiled.call(x) as Record<string, Tensor>);
  assert.equal(before, 1);
});

test('stochastic depth compiles in train mode: each sample is dropped or scaled, with a new draw per run', () => {
  const block = new StochasticDepth(0.5, 'row');
  const compiled = compile(block, { mode: 'train' });
  const x = randn([64, 3, 2, 2]).abs().add(1);
  const draws = [0, 1].map(() => compiled.call(x) as Tensor);
  for (const y of draws) {
    const data = y.data as Float32Array;
    const source = x.data as Float32Array;
    for (let n = 0; n < 64; n++) {
      const row = Array.from(data.subarray(n * 12, n * 12 + 12));
      const scale = row[0]! / source[n * 12]!;
      assert.ok(scale === 0 || Math.abs(scale - 2) < 1e-6, `sample ${n}: dropped or scaled by 1/(1-p), got ${scale}`);
      row.forEach((v, i) => assert.ok(Math.abs(v - scale * source[n * 12 + i]!) < 1e-5));
    }
  }
  const kept = (y: Tensor): string =>
    Array.from({ length: 64 }, (_, n) => ((y.data as Float32Array)[n * 12]! > 0 ? 1 : 0)).join('');
  assert.notEqual(kept(draws[0]!), kept(draws[1]!), 'two runs draw different masks');
  assert.equal(compile(block.eval()).call(x) instanceof Tensor, true);
});

/** A leaf whose JavaScript reads data: ONNX cannot hold it, so compile runs it eagerly. */
class SignGate extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    return x.mean().item() > 0 ? x.relu() : x.neg();
  }
}

class GatedNet extends Module<[Tensor], Tensor> {
  conv1 = new Conv2d(3, 4, 3, { padding: 1 });
  gate = new SignGate();
  conv2 = new Conv2d(4, 2, 3, { padding: 1 });
  forward(x: Tensor): Tensor {
    return this.conv2.call(this.gate.call(this.conv1.call(x))).add(x.mean());
  }
}

test('a leaf that reads data runs eagerly between two compiled segments, reported as a graph break', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const extractor = createFeatureExtractor(new GatedNet().eval(), {
    returnNodes: { gate: 'gate', conv2: 'conv2', add: 'out' },
    tracerOptions: { leafModules: [SignGate] },
  });
  const compiled = compile(extractor);
  for (const shape of [
    [2, 3, 8, 8],
    [1, 3, 12, 10],
  ]) {
    const x = randn(shape);
    assertParity(extractor.call(x) as Record<string, Tensor>, compiled.call(x) as Record<string, Tensor>);
  }
  assert.equal(compiled.graphBreaks.length, 1);
  assert.equal(compiled.graphBreaks[0]!.node, 'gate');
  assert.match(compiled.graphBreaks[0]!.reason, /reads tensor data \(\.data, \.item\(\), \.toArray\(\)\)/);
  assert.equal(compiled.sessionCount, 2, 'the segments before and after the break, each serving both shapes');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(warnings.filter((w) => w.startsWith('GraphBreakWarning')).length, 1);
  assert.match(
    warnings.find((w) => w.startsWith('GraphBreakWarning'))!,
    /node 'gate' runs eagerly/,
  );
  // An ONNX file must hold the whole graph: export names the node instead.
  assert.throws(() => exportOnnx(extractor, { inputShape: [1, 3, 8, 8] }), {
    name: 'ExportError',
    message: /cannot export node 'gate'.*reads tensor data/,
  });
});

/** A user's leaf with parameters of its own. */
class ConvLeaf extends Module<[Tensor], Tensor> {
  conv = new Conv2d(3, 4, 3, { padding: 1 });
  forward(x: Tensor): Tensor {
    return F.relu(this.conv.call(x)).add(x.mean());
  }
}

class WithLeaf extends Module<[Tensor], Tensor> {
  block = new ConvLeaf();
  forward(x: Tensor): Tensor {
    return this.block.call(x).mul(2);
  }
}

test('a leaf module is exported as an ONNX local function named by its path, which ONNX Runtime runs', async () => {
  const extractor = createFeatureExtractor(new WithLeaf().eval(), {
    returnNodes: { block: 'block', mul: 'out' },
    tracerOptions: { leafModules: [ConvLeaf] },
  });
  const bytes = exportOnnx(extractor, { inputShape: [1, 3, 8, 8], dynamicSize: true });
  const text = Buffer.from(bytes);
  assert.ok(text.includes('featurefx.local'), 'the local functions domain is imported');
  assert.ok(text.includes('block/Conv'), 'nodes inside the function keep the featurefx names');
  assert.ok(text.includes('block.conv.weight'), "the leaf's parameters stay initializers named by path");
  const session = await ort.InferenceSession.create(bytes);
  const x = randn([2, 3, 10, 12]);
  const result = await session.run({ x: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) });
  const eager = extractor.call(x) as Record<string, Tensor>;
  for (const key of ['block', 'out']) {
    const r = result[key]!;
    assertParity({ [key]: eager[key]! }, { [key]: new Tensor('float32', r.dims, r.data as Float32Array) });
  }
});

/** Different graphs in train and eval mode. */
class Branchy extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    return this.training ? F.relu(x) : F.neg(x);
  }
}

test("compile takes the graph of its mode from a feature extractor, whatever the extractor's own mode", () => {
  const extractor = createFeatureExtractor(new Branchy(), {
    trainReturnNodes: { relu: 'out' },
    evalReturnNodes: { neg: 'out' },
    suppressDiffWarning: true,
  });
  assert.equal(extractor.training, true);
  const x = randn([2, 3]);
  const evalOut = (compile(extractor).call(x) as Record<string, Tensor>).out!;
  const trainOut = (compile(extractor, { mode: 'train' }).call(x) as Record<string, Tensor>).out!;
  assertParity({ out: evalOut }, { out: F.neg(x) });
  assertParity({ out: trainOut }, { out: F.relu(x) });
  assert.equal(extractor.training, true, "the extractor's mode is left as it was");
});
