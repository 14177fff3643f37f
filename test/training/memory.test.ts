/**
 * The graph is freed after backward: a training loop holds flat memory, backward drops every
 * node's saved tensors, and a step's activations can be collected once the step is over.
 * Memory is read after full garbage collections (gc is exposed at run time, so `node --test`
 * needs no flag).
 */
import assert from 'node:assert/strict';
import { setImmediate } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, it } from 'node:test';
import '../../src/autograd/index.js';
import type { GradFn } from '../../src/autograd/grad-fn.js';
import { AutogradError } from '../../src/errors.js';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { resnet18 } from '../../src/models/resnet.js';
import * as nn from '../../src/nn/index.js';
import { F } from '../../src/ops/index.js';
import { SGD } from '../../src/optim/index.js';
import { rand, randn, tensor } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/generator.js';
import type { Tensor } from '../../src/tensor/tensor.js';

function exposedGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing !== undefined) return existing;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
const gc = exposedGc();

/** Memory after two full collections (the second frees what the first one's finalizers released). */
function memoryAfterGc(): { rss: number; js: number } {
  gc();
  gc();
  const { rss, heapUsed, arrayBuffers } = process.memoryUsage();
  // Tensors' values live in ArrayBuffers, outside the JS heap.
  return { rss, js: heapUsed + arrayBuffers };
}

/** A small CNN with train-mode BatchNorm, whose running statistics must stay outside the graph. */
function smallCnn(): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(3, 16, 3, { padding: 1 }),
    new nn.BatchNorm2d(16),
    new nn.ReLU(),
    new nn.Conv2d(16, 16, 3, { stride: 2 }),
    new nn.ReLU(),
    new nn.AdaptiveAvgPool2d(1),
    new nn.Flatten(),
    new nn.Linear(16, 4),
  );
}

/** Every node of the graph that produced `output`. */
function graphNodes(output: Tensor): GradFn[] {
  const seen = new Set<GradFn>();
  const stack = [output.gradFn!];
  while (stack.length > 0) {
    const fn = stack.pop()!;
    if (seen.has(fn)) continue;
    seen.add(fn);
    for (const next of fn.nextFunctions) if (next !== null) stack.push(next);
  }
  return [...seen];
}

const MiB = 2 ** 20;

describe('the graph is freed after backward', () => {
  it('200 training steps of a small CNN hold flat memory', (t) => {
    manualSeed(0);
    const model = smallCnn();
    const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
    const images = randn([4, 3, 32, 32]);
    const labels = tensor([0, 1, 2, 3], { dtype: 'int64' });
    let atStep50 = { rss: 0, js: 0 };
    for (let step = 1; step <= 200; step++) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(model.call(images) as Tensor, labels);
      loss.backward();
      optimizer.step();
      if (step === 50) atStep50 = memoryAfterGc();
    }
    const atStep200 = memoryAfterGc();
    const js = (atStep200.js - atStep50.js) / MiB;
    const rss = (atStep200.rss - atStep50.rss) / MiB;
    t.diagnostic(`growth from step 50 to 200: JS heap + ArrayBuffers ${js.toFixed(2)} MiB, RSS ${rss.toFixed(1)} MiB`);
    // A step's graph holds about 1.3 MiB of activations: keeping 150 of them is ~200 MiB. RSS also
    // moves with ONNX Runtime's and the allocator's pools, hence its looser bound.
    assert.ok(js < 4, `JS heap + ArrayBuffers grew ${js.toFixed(2)} MiB over 150 steps`);
    assert.ok(rss < 64, `RSS grew ${rss.toFixed(1)} MiB over 150 steps`);
  });

  it("a step's activations are collected once the step is over", async () => {
    manualSeed(0);
    const model = smallCnn();
    const optimizer = new SGD(model.parameters(), { lr: 0.01 });
    let activation: WeakRef<Tensor> | undefined;
    const first = model.children()[0]!;
    first.registerForwardHook((_module, _inputs, output) => {
      activation = new WeakRef(output as Tensor);
    });
    // In a function of its own, so that no local of this test holds the loss or the logits.
    const trainStep = (): void => {
      const loss = F.crossEntropy(model.call(rand([2, 3, 16, 16])) as Tensor, tensor([0, 1], { dtype: 'int64' }));
      loss.backward();
      optimizer.step();
    };
    trainStep();
    assert.notEqual(activation!.deref(), undefined);
    await setImmediate(); // a WeakRef keeps its target until the current job ends
    gc();
    assert.equal(activation!.deref(), undefined, 'the first conv output is still reachable after the step');
  });

  it('a loss kept after backward does not keep its step\'s activations alive (as in PyTorch)', async () => {
    manualSeed(0);
    const model = smallCnn();
    let activation: WeakRef<Tensor> | undefined;
    model.children()[0]!.registerForwardHook((_module, _inputs, output) => {
      activation = new WeakRef(output as Tensor);
    });
    const step = (): Tensor => {
      const loss = F.crossEntropy(model.call(rand([2, 3, 16, 16])) as Tensor, tensor([0, 1], { dtype: 'int64' }));
      loss.backward();
      return loss;
    };
    const kept = step();
    await setImmediate();
    gc();
    assert.equal(activation!.deref(), undefined, 'the first conv output is reachable from the kept loss');
    assert.equal(kept.gradFn?.name, 'DivBackward0');
  });

  it("backward frees the saved tensors of every node of a resnet18 extractor's step; retainGraph keeps them", () => {
    manualSeed(0);
    const backbone = resnet18();
    const extractor = createFeatureExtractor(backbone, { returnNodes: { flatten: 'features' } });
    const head = new nn.Linear(512, 2);
    const step = (options: { retainGraph?: boolean }) => {
      const out = extractor.call(rand([2, 3, 32, 32])) as Record<string, Tensor>;
      const loss = F.crossEntropy(head.call(out.features!), tensor([0, 1], { dtype: 'int64' }));
      const nodes = graphNodes(loss);
      loss.backward(null, options);
      return { loss, nodes };
    };

    const freed = step({});
    assert.ok(freed.nodes.length > 60, `${freed.nodes.length} nodes`);
    for (const fn of freed.nodes) {
      assert.throws(() => fn.args, AutogradError, `${fn.name} kept its saved tensors`);
    }
    assert.throws(
      () => freed.loss.backward(),
      (e: unknown) => e instanceof AutogradError && /backward through the graph a second time/.test(e.message),
    );

    head.zeroGrad();
    const kept = step({ retainGraph: true });
    for (const fn of kept.nodes) assert.doesNotThrow(() => fn.args, `${fn.name} lost its saved tensors`);
    const once = head.weight.grad!.toArray() as number[][];
    kept.loss.backward();
    // The second backward runs and accumulates: twice the first gradient, as PyTorch.
    const twice = head.weight.grad!.toArray() as number[][];
    twice.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - 2 * once[i]![j]!) < 1e-5)));
    assert.throws(() => kept.nodes[0]!.args, AutogradError, 'the second backward, without retainGraph, frees');
  });
});
