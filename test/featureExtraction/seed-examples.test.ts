/**
 * The seed documents' examples with real torchvision architectures: the API page's resnet18
 * example, the user guide's truncated names and its backbone + FPN (the MaskRCNN setup up to the
 * FPN outputs, and the MaskRCNN on it), and torchvision's equivalence test against a hand-written
 * intermediate-layer getter.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { featureInfo } from '../../src/featureExtraction/feature-info.js';
import { Module } from '../../src/nn/module.js';
import { FeaturePyramidNetwork, LastLevelMaxPool } from '../../src/nn/vision-ops/feature-pyramid-network.js';
import { MaskRCNN } from '../../src/models/detection/mask-rcnn.js';
import { IntermediateLayerGetter } from '../../src/models/intermediate-layer-getter.js';
import type { Detection } from '../../src/models/detection/types.js';
import { resnet18, resnet50 } from '../../src/models/resnet.js';
import { rand, randn } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

test("the API page's example: resnet18 layer1 and layer3 as feat1 and feat2", () => {
  const model = createFeatureExtractor(resnet18(), { returnNodes: { layer1: 'feat1', layer3: 'feat2' } });
  const out = model.call(rand([1, 3, 224, 224])) as Record<string, Tensor>;
  assert.deepEqual(
    Object.entries(out).map(([k, v]) => [k, [...v.shape]]),
    [
      ['feat1', [1, 64, 56, 56]],
      ['feat2', [1, 256, 14, 14]],
    ],
  );
});

test("the user guide's truncated names select the same nodes as the full ones", () => {
  const m = resnet50();
  const full = createFeatureExtractor(m, {
    returnNodes: {
      'layer1.2.relu_2': 'layer1',
      'layer2.3.relu_2': 'layer2',
      'layer3.5.relu_2': 'layer3',
      'layer4.2.relu_2': 'layer4',
    },
  });
  const truncated = createFeatureExtractor(m, {
    returnNodes: { layer1: 'layer1', layer2: 'layer2', layer3: 'layer3', layer4: 'layer4' },
  });
  assert.equal(truncated.code, full.code);
});

/** The user guide's Resnet50WithFPN, in TypeScript. */
class Resnet50WithFPN extends Module<[Tensor], Record<string, Tensor>> {
  body: Module;
  fpn: FeaturePyramidNetwork;
  readonly outChannels = 256;
  constructor() {
    super();
    const returnNodes = Object.fromEntries([1, 2, 3, 4].map((k, v) => [`layer${k}`, String(v)]));
    this.body = createFeatureExtractor(resnet50(), { returnNodes });
    // The guide does a dry run to count channels; featureInfo reads them without running anything.
    const inChannelsList = featureInfo(this.body as never, { inputShape: [2, 3, 224, 224] }).map((f) => f.channels!);
    this.fpn = new FeaturePyramidNetwork(inChannelsList, this.outChannels, { extraBlocks: new LastLevelMaxPool() });
  }
  forward(x: Tensor): Record<string, Tensor> {
    return this.fpn.call(this.body.call(x) as Record<string, Tensor>);
  }
}

// One backbone for the two tests that use it: drawing ResNet-50's random weights takes seconds.
let resnet50WithFPN: Resnet50WithFPN | undefined;
const sharedResnet50WithFPN = (): Resnet50WithFPN => (resnet50WithFPN ??= new Resnet50WithFPN());

test("the user guide's backbone + FPN example gives the FPN's outputs", () => {
  const model = sharedResnet50WithFPN().eval();
  assert.deepEqual(
    featureInfo(model.body as never, { inputShape: [2, 3, 224, 224] }).map((f) => [f.key, f.shape]),
    [
      ['0', [2, 256, 56, 56]],
      ['1', [2, 512, 28, 28]],
      ['2', [2, 1024, 14, 14]],
      ['3', [2, 2048, 7, 7]],
    ],
  );
  const out = model.call(randn([1, 3, 64, 64]));
  assert.deepEqual(
    Object.entries(out).map(([k, v]) => [k, [...v.shape]]),
    [
      ['0', [1, 256, 16, 16]],
      ['1', [1, 256, 8, 8]],
      ['2', [1, 256, 4, 4]],
      ['3', [1, 256, 2, 2]],
      ['pool', [1, 256, 1, 1]],
    ],
  );
});

test("the user guide's last line: MaskRCNN(Resnet50WithFPN(), num_classes=91) detects on an image", () => {
  // Small images (minSize) and fewer proposals keep it fast; the random weights give low scores,
  // so the threshold is lowered to have detections whose structure to check.
  const options = { numClasses: 91, minSize: 96, maxSize: 128, rpnPostNmsTopNTest: 50, boxScoreThresh: 0.001 };
  const model = new MaskRCNN(sharedResnet50WithFPN(), { ...options, boxDetectionsPerImg: 4 }).eval();
  const detections = model.call([rand([3, 60, 80]), rand([3, 40, 30])]) as Detection[];
  assert.equal(detections.length, 2);
  detections.forEach((d, i) => {
    const [h, w] = i === 0 ? [60, 80] : [40, 30];
    assert.deepEqual([...d.boxes.shape], [4, 4]);
    assert.deepEqual([d.labels.dtype, ...d.labels.shape], ['int64', 4]);
    assert.deepEqual([...d.scores.shape], [4]);
    assert.deepEqual([...d.masks!.shape], [4, 1, h, w]);
    const boxes = d.boxes.toArray() as number[][];
    const inside = ([x1, y1, x2, y2]: number[]): boolean =>
      0 <= x1! && x1! <= x2! && x2! <= w && 0 <= y1! && y1! <= y2! && y2! <= h;
    assert.ok(boxes.every(inside), `boxes inside the ${w}x${h} image`);
  });
});

test("feature extraction equals torchvision's IntermediateLayerGetter: same parameters, same outputs", () => {
  const model = resnet18().eval();
  const layers = { layer1: 'layer1', layer2: 'layer2', layer3: 'layer3', layer4: 'layer4' };
  const getter = new IntermediateLayerGetter(model, layers).eval();
  const fx = createFeatureExtractor(model, { returnNodes: layers });
  const p1 = [...getter.namedParameters()];
  const p2 = [...fx.namedParameters()];
  assert.deepEqual(
    p2.map(([n]) => n),
    p1.map(([n]) => n),
  );
  p1.forEach(([, t], i) => assert.equal(p2[i]![1], t));
  const x = randn([1, 3, 64, 64]);
  const a = getter.call(x);
  const b = fx.call(x) as Record<string, Tensor>;
  for (const key of Object.keys(layers)) assert.deepEqual(b[key]!.toArray(), a[key]!.toArray());
});
