/**
 * Bad use while training on extracted features gets PyTorch's errors, by type and message:
 * backward through a frozen extractor or a noGrad forward, a feature map (not a scalar) without
 * its gradient, `.grad` of a non-leaf, `autograd.grad` for a frozen parameter, and an optimizer
 * given a non-leaf tensor. The engine's own cases on plain tensors are in test/autograd/engine.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import '../../src/autograd/index.js';
import { grad } from '../../src/autograd/engine.js';
import { noGrad } from '../../src/autograd/grad-mode.js';
import { AutogradError } from '../../src/errors.js';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import * as nn from '../../src/nn/index.js';
import { Adam, SGD } from '../../src/optim/index.js';
import { ones, rand } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/generator.js';
import type { Tensor } from '../../src/tensor/tensor.js';

/** A conv, a ReLU and a linear head; the extractor returns the ReLU's feature map and the logits. */
function extractorOfSmallCnn() {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.ReLU(), new nn.Flatten(), new nn.Linear(4 * 6 * 6, 2));
  const extractor = createFeatureExtractor(model, { returnNodes: { 1: 'features', 3: 'logits' } });
  const run = (x: Tensor) => extractor.call(x) as { features: Tensor; logits: Tensor };
  return { model, run };
}

const image = () => rand([2, 3, 8, 8]);

function autogradError(pattern: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof AutogradError && pattern.test(e.message);
}

describe("bad use in training gets PyTorch's errors", () => {
  it('backward through a frozen extractor, or a forward run in noGrad, does not require grad', () => {
    const { model, run } = extractorOfSmallCnn();
    const inNoGrad = noGrad(() => run(image())).logits.sum();
    assert.throws(
      () => inNoGrad.backward(),
      autogradError(/element 0 of tensors does not require grad and does not have a gradFn/),
    );
    model.requiresGrad_(false);
    const frozen = run(image()).logits.sum();
    assert.equal(frozen.gradFn, null);
    assert.throws(() => frozen.backward(), autogradError(/does not require grad and does not have a gradFn/));
  });

  it('a feature map needs its gradient: none is implicit only for scalars, and it must have the shape', () => {
    const { model, run } = extractorOfSmallCnn();
    const { features } = run(image());
    assert.throws(
      () => features.backward(),
      autogradError(/grad can be implicitly created only for scalar outputs; output 0 has shape \[2, 4, 6, 6\]/),
    );
    assert.throws(
      () => features.backward(ones([2, 4, 6])),
      autogradError(/mismatch in shape: gradient 0 has shape \[2, 4, 6\] and output 0 has shape \[2, 4, 6, 6\]/),
    );
    // Neither failed attempt consumed the graph: the right gradient still goes through.
    features.backward(ones([2, 4, 6, 6]));
    const conv = model.children()[0] as nn.Conv2d;
    assert.deepEqual(conv.weight.grad!.shape, [4, 3, 3, 3]);
  });

  it('.grad of a non-leaf stays null after backward and warns, unless retainGrad() asked for it', () => {
    const { run } = extractorOfSmallCnn();
    const plain = run(image());
    plain.logits.sum().backward();
    assert.equal(plain.features.isLeaf, false);
    const warnings: Error[] = [];
    const emit = process.emitWarning;
    // process warnings are delivered on a later tick: collect them synchronously instead.
    process.emitWarning = ((message: string, options: { type: string }) =>
      warnings.push(
        Object.assign(new Error(message), { name: options.type }),
      )) as unknown as typeof process.emitWarning;
    try {
      assert.equal(plain.features.grad, null);
    } finally {
      process.emitWarning = emit;
    }
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.name, 'AutogradWarning');
    assert.match(warnings[0]!.message, /is not a leaf.*retainGrad\(\)/);
    const retained = run(image());
    retained.features.retainGrad();
    retained.logits.sum().backward();
    assert.deepEqual(retained.features.grad!.shape, [2, 4, 6, 6]);
  });

  it('autograd.grad for a frozen parameter does not require grad; one off the graph was not used', () => {
    const { model, run } = extractorOfSmallCnn();
    const [conv, , , head] = model.children() as [nn.Conv2d, nn.ReLU, nn.Flatten, nn.Linear];
    conv.requiresGrad_(false);
    // The image requires grad (as for a saliency map), so that the features do.
    const { features, logits } = run(image().requiresGrad_());
    assert.throws(() => grad(logits.sum(), [conv.weight]), autogradError(/\[grad\] input 0 does not require grad/));
    assert.throws(
      () => grad(features.sum(), [head.weight]),
      autogradError(/input 0\) appears to not have been used in the graph/),
    );
  });

  it("an optimizer can't optimize a non-leaf tensor, and leaves frozen or gradient-less params alone", () => {
    const { model, run } = extractorOfSmallCnn();
    const { features } = run(image());
    for (const Optimizer of [SGD, Adam]) {
      assert.throws(
        () => new Optimizer([features], { lr: 0.1 }),
        (e: unknown) => e instanceof RangeError && /can't optimize a non-leaf Tensor/.test(e.message),
      );
    }
    const [conv, , , head] = model.children() as [nn.Conv2d, nn.ReLU, nn.Flatten, nn.Linear];
    conv.requiresGrad_(false);
    const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const before = model.parameters().map((p) => p.toArray());
    optimizer.step(); // no backward yet: no gradients, no change, as PyTorch
    assert.deepEqual(
      model.parameters().map((p) => p.toArray()),
      before,
    );
    run(image()).logits.sum().backward();
    optimizer.step();
    assert.deepEqual(conv.weight.toArray(), before[0], 'the frozen conv is unchanged');
    assert.notDeepEqual(head.weight.toArray(), before[2], 'the head moved');
  });
});
