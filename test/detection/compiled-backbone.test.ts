/**
 * compileBackbone: a detection model's backbone + FPN run as one ONNX Runtime session in eval
 * mode, with the eager numbers, the same state-dict keys, one session for every image size, and
 * the eager model left as it was (its BatchNorm layers in eval mode); compileDetector: the RPN,
 * box and mask heads compiled too, with the eager detections.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchNorm2d } from '../../src/nn/layers/batch-norm.js';
import { Conv2d } from '../../src/nn/layers/conv.js';
import { Module } from '../../src/nn/module.js';
import { FeaturePyramidNetwork, LastLevelMaxPool } from '../../src/nn/vision-ops/feature-pyramid-network.js';
import {
  CompiledBackbone,
  CompiledRPNHead,
  compileBackbone,
  compileDetector,
} from '../../src/models/detection/compiled-backbone.js';
import { CompiledInEval } from '../../src/models/detection/compiled-in-eval.js';
import { FastRCNNPredictor, TwoMLPHead } from '../../src/models/detection/faster-rcnn.js';
import { MaskRCNN, MaskRCNNHeads, MaskRCNNPredictor } from '../../src/models/detection/mask-rcnn.js';
import type { Detection } from '../../src/models/detection/types.js';
import { noGrad } from '../../src/autograd/grad-mode.js';
import * as F from '../../src/ops/functional.js';
import { rand, randn } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/compare-with-torch.js';

/** Four stride-2 stages, the first with BatchNorm, as a classifier's stages under an FPN. */
class TinyBody extends Module<[Tensor], Record<string, Tensor>> {
  conv1 = new Conv2d(3, 8, 3, { stride: 2, padding: 1 });
  bn1 = new BatchNorm2d(8);
  conv2 = new Conv2d(8, 8, 3, { stride: 2, padding: 1 });
  conv3 = new Conv2d(8, 16, 3, { stride: 2, padding: 1 });
  conv4 = new Conv2d(16, 16, 3, { stride: 2, padding: 1 });
  forward(x: Tensor): Record<string, Tensor> {
    const c1 = F.relu(this.bn1.call(this.conv1.call(x)));
    const c2 = F.relu(this.conv2.call(c1));
    const c3 = F.relu(this.conv3.call(c2));
    return { '0': c1, '1': c2, '2': c3, '3': F.relu(this.conv4.call(c3)) };
  }
}

/** Five maps ('0'-'3', 'pool') as torchvision's ResNet-FPN gives, so the detectors' defaults fit. */
class TinyBackbone extends Module<[Tensor], Record<string, Tensor>> {
  body = new TinyBody();
  fpn = new FeaturePyramidNetwork([8, 8, 16, 16], 8, { extraBlocks: new LastLevelMaxPool() });
  readonly outChannels = 8;
  forward(x: Tensor): Record<string, Tensor> {
    return this.fpn.call(this.body.call(x));
  }
}

/** The part of a detection model compileBackbone touches. */
class StandInDetector extends Module<[Tensor], Record<string, Tensor>> {
  backbone: TinyBackbone | CompiledBackbone = new TinyBackbone();
  forward(x: Tensor): Record<string, Tensor> {
    return this.backbone.call(x);
  }
}

function withStatistics(model: StandInDetector): StandInDetector {
  const bn = (model.backbone as TinyBackbone).body.bn1;
  bn.running_mean = randn([8]);
  bn.running_var = F.add(F.abs(randn([8])), 0.5);
  return model.eval();
}

test('the compiled backbone gives the eager maps at two image sizes from one session', () => {
  const model = withStatistics(new StandInDetector());
  const eager = model.backbone;
  const keys = [...model.stateDict().keys()];
  compileBackbone(model);
  assert.ok(model.backbone instanceof CompiledBackbone);
  assert.deepEqual([...model.stateDict().keys()], keys, 'state-dict keys are unchanged');
  assert.equal(model.backbone.outChannels, 8);
  for (const shape of [
    [1, 3, 32, 48],
    [2, 3, 64, 32],
  ]) {
    const x = randn(shape);
    const expected = eager.call(x);
    const got = model.call(x);
    assert.deepEqual(Object.keys(got), ['0', '1', '2', '3', 'pool']);
    for (const key of Object.keys(expected)) assertClose(got[key]!, expected[key]!, { atol: 1e-5, rtol: 1e-5 });
  }
  assert.equal(model.backbone.compiled.sessionCount, 1, 'the FPN takes its sizes from the graph');
});

test('compiling the backbone leaves the eager model in eval mode, with its numbers', () => {
  const model = withStatistics(new StandInDetector());
  const eager = model.backbone as TinyBackbone;
  const x = randn([1, 3, 32, 32]);
  const before = eager.call(x);
  compileBackbone(model).call(x);
  assert.equal(eager.body.bn1.training, false);
  const after = eager.call(x);
  for (const key of Object.keys(before)) assertClose(after[key]!, before[key]!, { atol: 0, rtol: 0 });
});

test('in train mode the backbone runs eagerly, so gradients reach its weights', () => {
  const model = new StandInDetector();
  const eager = model.backbone as TinyBackbone;
  const maps = compileBackbone(model)
    .train()
    .call(randn([1, 3, 16, 16]));
  F.sum(maps['0']!).backward();
  assert.ok(eager.fpn.layer_blocks.at(0).parameters()[0]!.grad !== null);
});

test('a Mask R-CNN with its fixed-graph parts compiled gives the eager detections and masks, for two image sizes', () => {
  // Small heads and few proposals keep it fast; score 0 keeps every detection random weights give.
  const model = new MaskRCNN(new TinyBackbone(), {
    minSize: 64,
    maxSize: 96,
    rpnPostNmsTopNTest: 100,
    boxScoreThresh: 0,
    boxDetectionsPerImg: 20,
    boxHead: new TwoMLPHead(8 * 7 * 7, 32),
    boxPredictor: new FastRCNNPredictor(32, 3),
    maskHead: new MaskRCNNHeads(8, [8, 8], 1),
    maskPredictor: new MaskRCNNPredictor(8, 8, 3),
  }).eval();
  const images = [rand([3, 48, 64]), rand([3, 60, 40])];
  const eager = noGrad(() => model.call(images)) as Detection[];
  const keys = [...model.stateDict().keys()];
  const compiled = noGrad(() => compileDetector(model).call(images)) as Detection[];
  assert.deepEqual([...model.stateDict().keys()], keys, 'state-dict keys are unchanged');
  assert.ok(model.backbone instanceof CompiledBackbone);
  assert.ok(model.rpn.head instanceof CompiledRPNHead);
  for (const part of [model.roi_heads.box_head, model.roi_heads.mask_head, model.roi_heads.mask_predictor])
    assert.ok(part instanceof CompiledInEval);
  compiled.forEach((got, i) => {
    const expected = eager[i]!;
    assert.equal(expected.scores.shape[0], 20, 'random weights give detections at score 0');
    assert.deepEqual([...got.labels.data], [...expected.labels.data]);
    assertClose(got.boxes, expected.boxes, { atol: 1e-3, rtol: 0 });
    assertClose(got.scores, expected.scores, { atol: 1e-5, rtol: 0 });
    assertClose(got.masks!, expected.masks!, { atol: 1e-4, rtol: 0 });
  });
});
