/**
 * A small real training run: a linear head on the features of a frozen, randomly initialised
 * resnet18 learns a synthetic image set made here (four classes told apart by colour and pattern,
 * in random positions, under noise), and held-out accuracy rises from chance to near certainty.
 * Features are computed once under noGrad, as one fine-tunes a head in practice; a second test
 * unfreezes layer4, so gradients also flow through the extractor into the backbone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import '../../src/autograd/index.js';
import { noGrad } from '../../src/autograd/grad-mode.js';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { resnet18 } from '../../src/models/resnet.js';
import * as nn from '../../src/nn/index.js';
import { F } from '../../src/ops/index.js';
import { Adam, SGD } from '../../src/optim/index.js';
import { fromData, tensor } from '../../src/tensor/creation.js';
import { Generator, manualSeed } from '../../src/tensor/generator.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const SIZE = 64;
const CLASSES = 4;

/** The colour of pixel (h, w) of an image of class `c`; the blob and stripes move with `cx, cy, phase`. */
function pixel(c: number, h: number, w: number, cx: number, cy: number, phase: number): readonly number[] {
  const off = [0, 0, 0];
  switch (c) {
    case 0: // a red disc
      return (h - cy) ** 2 + (w - cx) ** 2 < 144 ? [1, 0.2, 0.2] : off;
    case 1: // green horizontal stripes
      return Math.floor((h + phase) / 4) % 2 === 0 ? [0.2, 1, 0.2] : off;
    case 2: // a blue gradient, dark on the left
      return [0, 0, w / SIZE];
    default: // yellow vertical stripes
      return Math.floor((w + phase) / 4) % 2 === 0 ? [1, 1, 0.2] : off;
  }
}

/** `n` images [n, 3, 64, 64] with Gaussian noise (sd 0.3), classes in turn, and their int64 labels. */
function syntheticImages(n: number, g: Generator): { images: Tensor; labels: Tensor } {
  const data = new Float32Array(n * 3 * SIZE * SIZE);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % CLASSES;
    labels.push(c);
    const [cx, cy, phase] = [16 + 32 * g.uniform(), 16 + 32 * g.uniform(), 8 * g.uniform()];
    for (let h = 0; h < SIZE; h++) {
      for (let w = 0; w < SIZE; w++) {
        const rgb = pixel(c, h, w, cx, cy, phase);
        for (let k = 0; k < 3; k++) data[((i * 3 + k) * SIZE + h) * SIZE + w] = rgb[k]! + 0.3 * g.normal();
      }
    }
  }
  return { images: fromData('float32', [n, 3, SIZE, SIZE], data), labels: tensor(labels, { dtype: 'int64' }) };
}

function accuracy(logits: Tensor, labels: Tensor): number {
  const predicted = noGrad(() => F.argmax(logits, 1)).data as BigInt64Array;
  const truth = labels.data as BigInt64Array;
  return predicted.filter((p, i) => p === truth[i]).length / truth.length;
}

/** A resnet18 with random weights in eval mode, frozen, and an extractor of its pooled features. */
function frozenBackbone() {
  const backbone = resnet18().eval().requiresGrad_(false);
  const extractor = createFeatureExtractor(backbone, { returnNodes: { flatten: 'features' } });
  const features = (images: Tensor): Tensor => (extractor.call(images) as Record<string, Tensor>).features!;
  return { backbone, features };
}

describe('training converges on a synthetic image set', () => {
  it('a linear head on frozen resnet18 features goes from chance to >= 90% held-out accuracy', (t) => {
    manualSeed(0);
    const g = new Generator(1);
    const train = syntheticImages(32, g);
    const test = syntheticImages(32, g);
    const { backbone, features } = frozenBackbone();
    const [trainFeatures, testFeatures] = noGrad(() => [features(train.images), features(test.images)]);
    assert.deepEqual(trainFeatures!.shape, [32, 512]);
    assert.equal(trainFeatures!.requiresGrad, false);

    const head = new nn.Linear(512, CLASSES);
    const before = accuracy(head.call(testFeatures!), test.labels);
    const optimizer = new Adam(head.parameters(), { lr: 0.01 });
    const losses: number[] = [];
    for (let epoch = 0; epoch < 40; epoch++) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(head.call(trainFeatures!), train.labels);
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    }
    const after = accuracy(head.call(testFeatures!), test.labels);
    t.diagnostic(
      `held-out accuracy ${before} -> ${after}; loss ${losses[0]!.toFixed(3)} -> ${losses.at(-1)!.toFixed(3)}`,
    );

    assert.ok(before <= 0.5, `an untrained head is near chance (0.25): ${before}`);
    assert.ok(after >= 0.9, `held-out accuracy after 40 epochs: ${after} (before: ${before})`);
    assert.ok(losses.at(-1)! < losses[0]! / 2, `loss ${losses[0]} -> ${losses.at(-1)}`);
    assert.ok(
      backbone.parameters().every((p) => p.grad === null),
      'the frozen backbone got no gradients',
    );
  });

  it('with layer4 unfrozen, gradients flow through the extractor into layer4 only, and the loss falls', (t) => {
    manualSeed(0);
    const { images, labels } = syntheticImages(8, new Generator(2));
    const { backbone, features } = frozenBackbone();
    backbone.layer4.requiresGrad_(true);
    const head = new nn.Linear(512, CLASSES);
    const layer4Before = backbone.layer4.parameters().map((p) => (p.data as Float32Array).slice());
    const optimizer = new SGD([...backbone.layer4.parameters(), ...head.parameters()], { lr: 0.05, momentum: 0.9 });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      optimizer.zeroGrad();
      const loss = F.crossEntropy(head.call(features(images)), labels);
      loss.backward();
      if (step === 0) {
        assert.ok(backbone.layer4.parameters().every((p) => p.grad !== null && p.grad.abs().sum().item() > 0));
        assert.ok(
          backbone.layer3.parameters().every((p) => p.grad === null),
          'layer3 stays frozen',
        );
      }
      optimizer.step();
      losses.push(loss.item());
    }
    t.diagnostic(`loss over three steps: ${losses.map((l) => l.toFixed(4)).join(', ')}`);
    assert.ok(losses[2]! < losses[0]!, `loss over three steps: ${losses.join(', ')}`);
    // The extractor shares the backbone's tensors: the optimizer's updates reached them.
    const unchanged = backbone.layer4
      .parameters()
      .filter((p, i) => (p.data as Float32Array).every((v, j) => v === layer4Before[i]![j]));
    assert.equal(unchanged.length, 0);
  });
});
