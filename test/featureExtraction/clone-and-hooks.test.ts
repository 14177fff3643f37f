/**
 * The feature extractor behaves like the module it came from: `clone()` keeps both graphs and the
 * train/eval switch (torchvision #8634), keeps parameters shared with a model cloned beside it
 * (torchvision #6352), and hooks registered on the model's submodules run when the extractor runs
 * through them (torchvision #5193).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainEvalModel } from '../helpers/example-modules.js';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { DualGraphModule } from '../../src/featureExtraction/dual-graph-module.js';
import { Module } from '../../src/nn/module.js';
import { resnet18 } from '../../src/models/resnet.js';
import { ones, rand } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

test('a cloned extractor keeps both graphs and switches between them on train() and eval() (torchvision #8634)', () => {
  const extractor = createFeatureExtractor(new TrainEvalModel().train(), {
    trainReturnNodes: ['dropout', 'add', 'sub'],
    evalReturnNodes: ['dropout', 'mul', 'sub'],
    suppressDiffWarning: true,
  });
  const copy = extractor.clone();
  assert.ok(copy instanceof DualGraphModule);
  assert.equal(copy.className, 'TrainEvalModel');
  assert.equal(copy.training, true);
  assert.notEqual(copy.trainGraph, extractor.trainGraph);
  assert.notEqual(copy.evalGraph, extractor.evalGraph);
  assert.equal(copy.trainGraph.toString(), extractor.trainGraph.toString());
  assert.equal(copy.evalGraph.toString(), extractor.evalGraph.toString());

  const keys = (m: Module): string[] => Object.keys(m.call(ones([10, 10])) as Record<string, Tensor>);
  assert.deepEqual(keys(copy), ['dropout', 'add', 'sub']);
  copy.eval();
  assert.equal(copy.graph, copy.evalGraph);
  const out = copy.call(ones([10, 10])) as Record<string, Tensor>;
  assert.deepEqual(Object.keys(out), ['dropout', 'mul', 'sub']);
  assert.equal(out.dropout!.item(), 1, 'eval-mode dropout is the identity');
  assert.equal(extractor.training, true, 'the original stays in train mode');
  assert.deepEqual(keys(extractor), ['dropout', 'add', 'sub']);
  assert.deepEqual(keys(copy.train()), ['dropout', 'add', 'sub']);

  // A clone made in eval mode starts on the eval graph.
  assert.deepEqual(keys(extractor.eval().clone()), ['dropout', 'mul', 'sub']);
});

test('a model cloned with its extractor keeps one set of parameters, shared as before (torchvision #6352)', () => {
  class WithBody extends Module<[Tensor], Tensor> {
    resnet = resnet18();
    body = createFeatureExtractor(this.resnet, { returnNodes: { avgpool: 'avgpool', fc: 'fc' } });
    forward(x: Tensor): Tensor {
      return (this.body.call(x) as Record<string, Tensor>).fc!;
    }
  }
  const model = new WithBody().eval();
  const copy = model.clone();
  assert.equal(copy.parameters().length, model.parameters().length);
  assert.equal(copy.parameters().length, 62);
  assert.equal(copy.body.getSubmodule('fc'), copy.resnet.fc, "the copy's extractor uses the copy's layers");
  assert.notEqual(copy.resnet.fc, model.resnet.fc);
  const x = rand([1, 3, 32, 32]);
  assert.deepEqual(copy.call(x).toArray(), model.call(x).toArray());
});

test('hooks and pre-hooks of a leaf module, registered before or after the extractor was made, run when it runs', () => {
  const model = resnet18().eval();
  const conv = model.layer1.at(0).getSubmodule('conv1');
  const calls: string[] = [];
  conv.registerForwardPreHook(() => void calls.push('pre, registered before'));
  const extractor = createFeatureExtractor(model, { returnNodes: ['layer1.0.conv1', 'layer1.0.bn1'] });
  conv.registerForwardHook((_m, inputs) => void calls.push(`hook, registered after, input ${String(inputs[0])}`));
  extractor.call(rand([1, 3, 32, 32]));
  assert.deepEqual(calls, ['pre, registered before', 'hook, registered after, input Tensor(float32, [1, 64, 8, 8])']);
  // A leaf runs as one call, so its hooks may replace its arguments and output, as in PyTorch.
  conv.registerForwardPreHook((_m, inputs) => [(inputs[0] as Tensor).mul(0)]);
  const out = extractor.call(rand([1, 3, 32, 32])) as Record<string, Tensor>;
  assert.ok((out['layer1.0.conv1']!.data as Float32Array).every((v) => v === 0));
});

test('hooks of modules the extractor runs through fire where their inlined code starts and ends (torchvision #5193)', () => {
  const model = resnet18().eval();
  const calls: string[] = [];
  let layer1Output: unknown;
  model.registerForwardPreHook(() => void calls.push('model pre'));
  model.layer1.registerForwardPreHook(
    (m, inputs) => void calls.push(`layer1 pre ${String(inputs[0])} ${m === model.layer1}`),
  );
  model.layer1.registerForwardHook((_m, _inputs, output) => {
    layer1Output = output;
    calls.push('layer1');
  });
  const extractor = createFeatureExtractor(model, { returnNodes: ['layer1', 'layer2.0.relu'] });
  model.layer1.at(1).registerForwardHook(() => void calls.push('layer1.1'));
  model.layer2.registerForwardPreHook(() => void calls.push('layer2 pre'));
  model.layer2.registerForwardHook(() => void calls.push('layer2, not computed'));
  model.layer3.registerForwardPreHook(() => void calls.push('layer3, pruned'));

  const out = extractor.call(rand([1, 3, 32, 32])) as Record<string, Tensor>;
  assert.deepEqual(calls, ['layer1 pre Tensor(float32, [1, 64, 8, 8]) true', 'layer1.1', 'layer1', 'layer2 pre']);
  assert.equal(layer1Output, out.layer1, "layer1's hook sees the value the extractor returns for it");

  calls.length = 0;
  extractor.train().call(rand([2, 3, 32, 32]));
  assert.deepEqual(calls, ['layer1 pre Tensor(float32, [2, 64, 8, 8]) true', 'layer1.1', 'layer1', 'layer2 pre']);

  model.layer2.registerForwardPreHook((_m, inputs) => [...inputs]);
  assert.throws(() => extractor.call(rand([1, 3, 32, 32])), {
    name: 'TypeError',
    message: new RegExp(
      "a forward pre-hook of 'layer2' \\(Sequential\\) replaced its arguments, but this module's code is inlined" +
        '.*make its class a leaf \\(tracerOptions.leafModules\\)',
    ),
  });
});

test("a clone runs the hooks its modules had when cloned, and a model cloned with its extractor runs the copies' hooks", () => {
  const model = resnet18().eval();
  const extractor = createFeatureExtractor(model, { returnNodes: ['layer1'] });
  const calls: string[] = [];
  model.layer1.registerForwardHook(() => void calls.push('before cloning'));
  const copy = extractor.clone();
  model.layer1.registerForwardHook(() => void calls.push('after cloning'));
  copy.call(rand([1, 3, 32, 32]));
  assert.deepEqual(calls, ['before cloning']);

  class WithBody extends Module<[Tensor], Tensor> {
    resnet = resnet18();
    body = createFeatureExtractor(this.resnet, { returnNodes: ['layer1'] });
    forward(x: Tensor): Tensor {
      return (this.body.call(x) as Record<string, Tensor>).layer1!;
    }
  }
  const wrapped = new WithBody().eval().clone();
  calls.length = 0;
  wrapped.resnet.layer1.registerForwardHook(() => void calls.push("the copy's layer1"));
  wrapped.call(rand([1, 3, 32, 32]));
  assert.deepEqual(calls, ["the copy's layer1"]);
});
