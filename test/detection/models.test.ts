/**
 * Whole detection models against torchvision 0.14 (scripts/fixtures/make_detection_models.py):
 * a tiny Mask R-CNN / Faster R-CNN with torch.save'd weights on two images of different sizes,
 * eval detections, train losses and gradients, torchvision's errors; the zoo models' state-dict
 * keys, shapes and frozen parameters; checkpoints in torchvision's older key layout.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadNpy } from '../../src/io/npy.js';
import { loadWeights } from '../../src/io/weights.js';
import { AnchorGenerator } from '../../src/models/detection/anchor-utils.js';
import { BackboneWithFPN } from '../../src/models/detection/backbone-utils.js';
import { FasterRCNN, FastRCNNPredictor, TwoMLPHead } from '../../src/models/detection/faster-rcnn.js';
import { MaskRCNN, MaskRCNNHeads, MaskRCNNPredictor } from '../../src/models/detection/mask-rcnn.js';
import type { Detection, DetectionLosses, DetectionTarget } from '../../src/models/detection/types.js';
import { getModel, listModels } from '../../src/models/index.js';
import { skipInit } from '../../src/nn/init.js';
import { Sequential } from '../../src/nn/layers/containers.js';
import { Conv2dNormActivation } from '../../src/nn/vision-ops/conv2d-norm-activation.js';
import { FrozenBatchNorm2d } from '../../src/nn/vision-ops/frozen-batch-norm.js';
import * as F from '../../src/ops/functional.js';
import { rand, randn, tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { FIXTURES_DIR, assertClose, fixtureTensor, loadFixture } from '../helpers/compare-with-torch.js';

const cases = loadFixture('detection/models.json');
const byName = (name: string) => cases.find((c) => c.name === name)!;
const fixturePath = (file: string): string => join(FIXTURES_DIR, 'detection', file);

interface TinyParams {
  num_classes: number;
  body_channels: number[];
  fpn_channels: number;
  representation: number;
  mask_layers: number[];
  options: Record<string, number>;
  anchor_sizes: number[][];
  aspect_ratios: number[][];
}
const tiny = byName('eval').params as unknown as TinyParams;
const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const modelOptions = Object.fromEntries(Object.entries(tiny.options).map(([k, v]) => [camel(k), v]));

/** The fixture's backbone: a stem and four stride-2 stages with FrozenBatchNorm2d, under an FPN. */
function tinyBackbone(): BackboneWithFPN {
  const frozen = (c: number) => new FrozenBatchNorm2d(c);
  const layers: Record<string, Conv2dNormActivation> = {
    stem: new Conv2dNormActivation(3, 8, 3, { stride: 2, normLayer: frozen }),
  };
  let previous = 8;
  tiny.body_channels.forEach((channels, i) => {
    layers[`layer${i + 1}`] = new Conv2dNormActivation(previous, channels, 3, { stride: 2, normLayer: frozen });
    previous = channels;
  });
  const returnLayers = Object.fromEntries(tiny.body_channels.map((_, i) => [`layer${i + 1}`, String(i)]));
  return new BackboneWithFPN(new Sequential(layers), returnLayers, tiny.body_channels, tiny.fpn_channels);
}

function tinyModel(kind: 'mask' | 'faster'): FasterRCNN {
  const heads = {
    boxHead: new TwoMLPHead(tiny.fpn_channels * 7 * 7, tiny.representation),
    boxPredictor: new FastRCNNPredictor(tiny.representation, tiny.num_classes),
    rpnAnchorGenerator: new AnchorGenerator(tiny.anchor_sizes, tiny.aspect_ratios),
    ...modelOptions,
  };
  const last = tiny.mask_layers[tiny.mask_layers.length - 1]!;
  const model =
    kind === 'mask'
      ? new MaskRCNN(tinyBackbone(), {
          ...heads,
          maskHead: new MaskRCNNHeads(tiny.fpn_channels, tiny.mask_layers, 1),
          maskPredictor: new MaskRCNNPredictor(last, last, tiny.num_classes),
        })
      : new FasterRCNN(tinyBackbone(), heads);
  const weights = loadWeights(fixturePath('models_tiny.pth'));
  if (kind === 'faster') for (const key of [...weights.keys()]) if (key.includes('.mask_')) weights.delete(key);
  model.loadStateDict(weights);
  return model;
}

const images = [0, 1].map((i) => F.div(F.to(loadNpy(fixturePath(`models_image${i}.npy`)), 'float32'), 255));

/** Mask IoU of each detection's mask (> 0.5) with torchvision's, unpacked from np.packbits. */
function maskIous(masks: Tensor, packedFile: string): number[] {
  const packed = loadNpy(fixturePath(packedFile)).data as Uint8Array;
  const ours = masks.data as Float32Array;
  const [k, , h, w] = masks.shape as [number, number, number, number];
  return Array.from({ length: k }, (_, d) => {
    let inter = 0;
    let union = 0;
    for (let p = d * h * w; p < (d + 1) * h * w; p++) {
      const theirs = ((packed[p >> 3]! >> (7 - (p & 7))) & 1) === 1;
      const mine = ours[p]! > 0.5;
      if (mine && theirs) inter++;
      if (mine || theirs) union++;
    }
    return union === 0 ? 1 : inter / union;
  });
}

function checkDetections(detections: Detection[], withMasks: boolean): void {
  const c = byName('eval');
  assert.equal(detections.length, 2);
  detections.forEach((d, i) => {
    const [h, w] = images[i]!.shape.slice(1) as [number, number];
    assert.deepEqual([...d.labels.data], [...fixtureTensor(c, `labels${i}`).data], `labels of image ${i}`);
    assertClose(d.scores, fixtureTensor(c, `scores${i}`), { rtol: 0, atol: 1e-4 }, `scores of image ${i}`);
    assertClose(d.boxes, fixtureTensor(c, `boxes${i}`), { rtol: 0, atol: 1e-3 * Math.max(h, w) }, `boxes ${i}`);
    if (!withMasks) return assert.equal(d.masks, undefined);
    assert.deepEqual([...d.masks!.shape], [d.labels.shape[0], 1, h, w]);
    const worst = Math.min(...maskIous(d.masks!, `models_masks${i}.npy`));
    assert.ok(worst >= 0.99, `image ${i}: a mask's IoU with torchvision's is ${worst}`);
  });
}

test("tiny Mask R-CNN in eval mode gives torchvision's detections and masks for two images of different sizes", () => {
  const detections = tinyModel('mask').eval().call(images) as Detection[];
  checkDetections(detections, true);
});

test('tiny Faster R-CNN with the same weights gives the same boxes, labels and scores', () => {
  checkDetections(tinyModel('faster').eval().call(images) as Detection[], false);
});

test("tiny Mask R-CNN in train mode gives torchvision's losses, and their sum's gradients", () => {
  const c = byName('train');
  const p = c.params as {
    targets: { boxes: number[][]; labels: number[] }[];
    grad_params: string[];
    loss_keys: string[];
  };
  const targets: DetectionTarget[] = p.targets.map((t, i) => ({
    boxes: tensor(t.boxes, { dtype: 'float32' }),
    labels: tensor(t.labels, { dtype: 'int64' }),
    masks: F.to(fixtureTensor(c, `target_masks${i}`), 'uint8'),
  }));
  const model = tinyModel('mask').train();
  const losses = model.call(images, targets) as DetectionLosses;
  assert.deepEqual(Object.keys(losses).sort(), [...p.loss_keys].sort());
  for (const key of p.loss_keys) assertClose(losses[key], fixtureTensor(c, key), { rtol: 0, atol: 1e-4 }, key);
  Object.values(losses)
    .reduce((a, b) => F.add(a, b))
    .backward();
  const params = new Map(model.namedParameters());
  for (const name of p.grad_params)
    assertClose(params.get(name)!.grad, fixtureTensor(c, `grad_${name}`), { rtol: 1e-3, atol: 1e-5 }, `grad ${name}`);
});

test("bad input gives torchvision's errors", () => {
  const messages = byName('errors').params as Record<string, string>;
  const model = tinyModel('faster').eval();
  assert.match(messages.empty!, /list index out of range/);
  assert.throws(() => model.call([]), { name: 'RangeError', message: /list index out of range/ });
  assert.match(messages.channels!, /The size of tensor a \(4\) must match the size of tensor b \(3\)/);
  assert.throws(() => model.call([F.div(images[0]!, 1).repeat([2, 1, 1]).getitem(F.slice(0, 4))]), {
    message: /The size of tensor a \(4\) must match the size of tensor b \(3\)/,
  });
  model.train();
  assert.throws(() => model.call([images[0]!]), {
    name: 'TypeError',
    message: /^targets should not be none when in training mode/,
  });
  assert.throws(
    () =>
      model.call(
        [images[0]!],
        [{ boxes: tensor([1, 2, 3, 4], { dtype: 'float32' }), labels: tensor([1], { dtype: 'int64' }) }],
      ),
    {
      name: 'RangeError',
      message: 'Expected target boxes to be a tensor of shape [N, 4], got [4].',
    },
  );
  const degenerate = {
    boxes: tensor([[10, 10, 5, 20]], { dtype: 'float32' }),
    labels: tensor([1], { dtype: 'int64' }),
  };
  // torchvision's message, for the box as resized with the 48x64 image to 128x170.
  assert.throws(() => model.call([images[0]!], [degenerate]), {
    name: 'RangeError',
    message:
      'All bounding boxes should have positive height and width. Found invalid box ' +
      '[26.5625, 26.666667938232422, 13.28125, 53.333335876464844] for target at index 0.',
  });
});

interface KeyList {
  keys: string[];
  shapes: number[][];
  frozen: string[];
  /** The stages the FPN takes, as the body's (IntermediateLayerGetter's) returnLayers. */
  return_layers: Record<string, string>;
}

function layout(model: FasterRCNN): KeyList {
  const sd = model.stateDict();
  const frozen = [...model.namedParameters()].filter(([, p]) => !p.requiresGrad).map(([n]) => n);
  const returnLayers = { ...(model.backbone as BackboneWithFPN).body.returnLayers };
  return {
    keys: [...sd.keys()],
    shapes: [...sd.values()].map((t) => [...t.shape]),
    frozen,
    return_layers: returnLayers,
  };
}

const ZOO = {
  maskrcnn_resnet50_fpn: 'resnet50',
  fasterrcnn_mobilenet_v3_large_fpn: 'mobilenet_v3_large',
} as const;

for (const [name, backboneName] of Object.entries(ZOO)) {
  test(`${name}: torchvision's state-dict keys and shapes, with and without pretrained weights`, () => {
    const expected = byName(`keys_${name}_pretrained`).params as unknown as KeyList;
    const weightsBackbone = skipInit(() => getModel(backboneName)).stateDict();
    const pretrained = layout(skipInit(() => getModel(name, { weightsBackbone })) as FasterRCNN);
    assert.deepEqual(pretrained, expected);
    const { extra_keys: extraKeys } = byName(`keys_${name}_untrained`).params as { extra_keys: string[] };
    const untrained = layout(skipInit(() => getModel(name)) as FasterRCNN);
    assert.deepEqual(
      untrained.keys.filter((k) => !k.endsWith('num_batches_tracked')),
      expected.keys,
    );
    assert.deepEqual(
      untrained.keys.filter((k) => k.endsWith('num_batches_tracked')),
      extraKeys,
    );
    assert.deepEqual(untrained.frozen, []);
  });
}

test("fasterrcnn_resnet50_fpn's keys are maskrcnn_resnet50_fpn's without the mask branch", () => {
  const expected = byName('keys_maskrcnn_resnet50_fpn_pretrained').params as unknown as KeyList;
  const weightsBackbone = skipInit(() => getModel('resnet50')).stateDict();
  const keys = layout(skipInit(() => getModel('fasterrcnn_resnet50_fpn', { weightsBackbone })) as FasterRCNN).keys;
  assert.deepEqual(
    keys,
    expected.keys.filter((k) => !k.includes('.mask_')),
  );
});

test('detection models are registered under their task, apart from the classifiers', () => {
  assert.deepEqual(listModels({ task: 'detection' }), [
    'fasterrcnn_mobilenet_v3_large_fpn',
    'fasterrcnn_resnet50_fpn',
    'maskrcnn_resnet50_fpn',
  ]);
  assert.ok(!listModels({ task: 'classification' }).includes('maskrcnn_resnet50_fpn'));
  assert.ok(listModels({ task: 'classification' }).includes('resnet50'));
});

/** torchvision's layout before 0.13: FPN, RPNHead and MaskRCNNHeads convolutions without their Sequential index. */
function oldLayout(stateDict: Map<string, Tensor>): Map<string, Tensor> {
  const rename = (key: string): string =>
    key
      .replace(/^(.*fpn\.(?:inner|layer)_blocks\.\d+)\.0\.(weight|bias)$/, '$1.$2')
      .replace(/^rpn\.head\.conv\.0\.0\.(weight|bias)$/, 'rpn.head.conv.$1')
      .replace(/^roi_heads\.mask_head\.(\d+)\.0\.(weight|bias)$/, (_, i: string, type: string) => {
        return `roi_heads.mask_head.mask_fcn${Number(i) + 1}.${type}`;
      });
  return new Map([...stateDict].map(([k, v]) => [rename(k), v]));
}

test("checkpoints in torchvision's older key layout load (FPN, RPNHead, MaskRCNNHeads)", () => {
  const current = loadWeights(fixturePath('models_tiny.pth'));
  const old = oldLayout(current);
  for (const key of [
    'backbone.fpn.inner_blocks.0.weight',
    'rpn.head.conv.weight',
    'roi_heads.mask_head.mask_fcn2.bias',
  ])
    assert.ok(old.has(key), key);
  const model = tinyModel('mask');
  for (const t of model.parameters()) t.copy_(F.mul(t, 0));
  model.loadStateDict(old);
  for (const [key, t] of model.stateDict()) assert.deepEqual([...t.data], [...current.get(key)!.data], key);
  // The caller's state dict is left as it was.
  assert.ok(old.has('rpn.head.conv.weight'));
});

test('a COCO checkpoint in the older layout loads through the builder, which sets FrozenBatchNorm2d eps to 0', () => {
  const weightsBackbone = skipInit(() => getModel('resnet50')).stateDict();
  const checkpoint = oldLayout(skipInit(() => getModel('maskrcnn_resnet50_fpn', { weightsBackbone })).stateDict());
  const model = getModel('maskrcnn_resnet50_fpn', { weights: checkpoint }) as MaskRCNN;
  const norms = model.modules().filter((m) => m instanceof FrozenBatchNorm2d);
  assert.equal(norms.length, 53);
  assert.ok(norms.every((m) => m.eps === 0));
  assert.throws(() => getModel('maskrcnn_resnet50_fpn', { weights: checkpoint, numClasses: 2 }), {
    name: 'RangeError',
    message: "The parameter 'num_classes' expected value 91 but got 2 instead.",
  });
});

test("weightsBackbone loads the classifier's checkpoint into the backbone, its BatchNorm2d frozen with the same statistics", () => {
  // Built without drawing weights; the tensors checked get random values.
  const classifier = skipInit(() => getModel('mobilenet_v3_large'));
  const weightsBackbone = classifier.stateDict();
  const checked = ['0.0.weight', '0.1.weight', '0.1.bias', '0.1.running_mean', '0.1.running_var', '16.1.bias'];
  for (const key of checked)
    weightsBackbone.get(`features.${key}`)!.copy_(F.add(rand([...weightsBackbone.get(`features.${key}`)!.shape]), 0.5));
  const model = skipInit(() => getModel('fasterrcnn_mobilenet_v3_large_fpn', { weightsBackbone })) as FasterRCNN;
  const body = model.stateDict();
  // The body is the classifier's `features`: features.0.0.weight is backbone.body.0.0.weight.
  for (const key of checked)
    assert.deepEqual(
      [...body.get(`backbone.body.${key}`)!.data],
      [...weightsBackbone.get(`features.${key}`)!.data],
      key,
    );
  // FrozenBatchNorm2d normalises as the classifier's BatchNorm2d in eval mode (up to their eps).
  const bn = classifier.getSubmodule('features.0.1').eval();
  const frozen = model.getSubmodule('backbone.body.0.1');
  assert.ok(frozen instanceof FrozenBatchNorm2d);
  const x = randn([1, 16, 4, 4]);
  assertClose(frozen.call(x), bn.call(x) as Tensor, { rtol: 1e-2, atol: 1e-3 });
});

test("FasterRCNN and MaskRCNN refuse torchvision's bad constructor arguments with its messages", () => {
  const backbone = tinyBackbone();
  assert.throws(() => new FasterRCNN(backbone), {
    name: 'RangeError',
    message: 'num_classes should not be None when box_predictor is not specified',
  });
  assert.throws(() => new FasterRCNN(backbone, { numClasses: 3, boxPredictor: new FastRCNNPredictor(8, 3) }), {
    name: 'RangeError',
    message: 'num_classes should be None when box_predictor is specified',
  });
  assert.throws(() => new MaskRCNN(backbone, { numClasses: 3, maskPredictor: new MaskRCNNPredictor(8, 8, 3) }), {
    name: 'RangeError',
    message: 'num_classes should be None when mask_predictor is specified',
  });
  assert.throws(() => new FasterRCNN(new Sequential(), { numClasses: 3 }), {
    name: 'TypeError',
    message: /^backbone should contain an attribute out_channels/,
  });
  assert.throws(() => new FasterRCNN(backbone, { numClasses: 3, rpnAnchorGenerator: backbone as never }), {
    name: 'TypeError',
    message: 'rpn_anchor_generator should be of type AnchorGenerator or None instead of BackboneWithFPN',
  });
});
