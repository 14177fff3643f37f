/**
 * RegionProposalNetwork and RoIHeads against torchvision 0.14 (scripts/fixtures/make_detection_heads.py):
 * proposals, detections with masks, losses and gradients for the same weights and inputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnchorGenerator } from '../../src/models/detection/anchor-utils.js';
import { ImageList, type ImageSize } from '../../src/models/detection/image-list.js';
import { FastRCNNPredictor, TwoMLPHead } from '../../src/models/detection/faster-rcnn.js';
import { MaskRCNNHeads, MaskRCNNPredictor } from '../../src/models/detection/mask-rcnn.js';
import { RoIHeads } from '../../src/models/detection/roi-heads.js';
import { RegionProposalNetwork, RPNHead } from '../../src/models/detection/rpn.js';
import { MultiScaleRoIAlign } from '../../src/nn/vision-ops/poolers.js';
import type { DetectionTarget } from '../../src/models/detection/types.js';
import { zeros } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose, type FixtureCase, fixtureTensor, loadFixture } from '../helpers/compare-with-torch.js';

const cases = new Map(loadFixture('detection/heads.json').map((c) => [c.name, c]));

function fixtureCase(name: string): FixtureCase {
  const c = cases.get(name);
  if (c === undefined) throw new Error(`no fixture case '${name}'`);
  return c;
}

/** The tensors of a case under `prefix`, keyed by the rest of their names. */
function prefixed(c: FixtureCase, prefix: string): Map<string, Tensor> {
  return new Map(Object.entries(c.t).flatMap(([k, v]) => (k.startsWith(prefix) ? [[k.slice(prefix.length), v]] : [])));
}

const IMAGE_SIZES: ImageSize[] = [
  [48, 40],
  [36, 48],
];
const imageList = (): ImageList => new ImageList(zeros([2, 3, 48, 48]), IMAGE_SIZES);

/** Fresh copies of the input features, requiring grad. */
function features(inputs: FixtureCase): Record<string, Tensor> {
  return Object.fromEntries([...prefixed(inputs, 'f.')].map(([k, v]) => [k, v.detach().requiresGrad_()]));
}

function targets(c: FixtureCase): DetectionTarget[] {
  return [0, 1].map((i) => {
    const t: DetectionTarget = { boxes: fixtureTensor(c, `t${i}.boxes`), labels: fixtureTensor(c, `t${i}.labels`) };
    const masks = c.t[`t${i}.masks`];
    if (masks !== undefined) t.masks = masks;
    return t;
  });
}

function assertGrads(c: FixtureCase, feats: Record<string, Tensor>, params: Map<string, Tensor>): void {
  for (const [name, expected] of prefixed(c, 'grad.f.')) {
    // A level no box maps to gets no gradient here, where PyTorch's graph gives it zeros.
    const actual = feats[name]!.grad ?? zeros(expected.shape);
    assertClose(actual, expected, { rtol: 1e-3, atol: 1e-5 }, `grad of feature ${name}`);
  }
  for (const [name, expected] of prefixed(c, 'grad.w.')) {
    assertClose(params.get(name)!.grad, expected, { rtol: 1e-3, atol: 1e-5 }, `grad of ${name}`);
  }
}

describe('RegionProposalNetwork', () => {
  const inputs = fixtureCase('rpn_inputs');
  const p = inputs.params as {
    anchor_sizes: number[][];
    aspect_ratios: number[][];
    fg_iou_thresh: number;
    bg_iou_thresh: number;
    batch_size_per_image: number;
    positive_fraction: number;
    pre_nms_top_n: { training: number; testing: number };
    post_nms_top_n: { training: number; testing: number };
    nms_thresh: number;
  };
  const makeRpn = (): RegionProposalNetwork => {
    const anchors = new AnchorGenerator(p.anchor_sizes, p.aspect_ratios);
    const rpn = new RegionProposalNetwork(anchors, new RPNHead(4, anchors.numAnchorsPerLocation()[0]!), {
      fgIouThresh: p.fg_iou_thresh,
      bgIouThresh: p.bg_iou_thresh,
      batchSizePerImage: p.batch_size_per_image,
      positiveFraction: p.positive_fraction,
      preNmsTopN: p.pre_nms_top_n,
      postNmsTopN: p.post_nms_top_n,
      nmsThresh: p.nms_thresh,
    });
    rpn.loadStateDict(prefixed(inputs, 'w.'));
    return rpn;
  };

  it('gives torchvision proposals in eval mode, per image of its own size', () => {
    const expected = fixtureCase('rpn_eval');
    const [boxes, losses] = makeRpn().eval().call(imageList(), features(inputs));
    assert.deepEqual(losses, {});
    assert.equal(boxes.length, 2);
    boxes.forEach((b, i) => assertClose(b, fixtureTensor(expected, `boxes${i}`), { atol: 1e-4 }, `boxes${i}`));
  });

  for (const name of ['rpn_train', 'rpn_train_background']) {
    it(`gives torchvision losses, proposals and gradients in training mode (${name})`, () => {
      const expected = fixtureCase(name);
      const rpn = makeRpn().train();
      const feats = features(inputs);
      const [boxes, losses] = rpn.call(imageList(), feats, targets(expected));
      boxes.forEach((b, i) => assertClose(b, fixtureTensor(expected, `boxes${i}`), { atol: 1e-4 }, `boxes${i}`));
      assert.deepEqual(Object.keys(losses), ['loss_objectness', 'loss_rpn_box_reg']);
      for (const [key, loss] of Object.entries(losses)) assertClose(loss, fixtureTensor(expected, key), {}, key);
      assert.equal(boxes[0]!.requiresGrad, false, 'proposals are detached');
      losses.loss_objectness!.add(losses.loss_rpn_box_reg!).backward();
      assertGrads(expected, feats, new Map(rpn.namedParameters()));
    });
  }

  it('refuses training without targets, as torchvision', () => {
    assert.throws(() => makeRpn().train().call(imageList(), features(inputs)), {
      name: 'TypeError',
      message: /^\[RegionProposalNetwork\] targets should not be None in training mode; pass each image's/,
    });
  });
});

describe('RPNHead', () => {
  it("has torchvision's state-dict keys and initialisation, and one logit and 4 deltas per anchor", () => {
    const head = new RPNHead(64, 3, 2);
    assert.deepEqual(
      [...head.stateDict()].map(([k, v]) => [k, v.shape]),
      [
        ['conv.0.0.weight', [64, 64, 3, 3]],
        ['conv.0.0.bias', [64]],
        ['conv.1.0.weight', [64, 64, 3, 3]],
        ['conv.1.0.bias', [64]],
        ['cls_logits.weight', [3, 64, 1, 1]],
        ['cls_logits.bias', [3]],
        ['bbox_pred.weight', [12, 64, 1, 1]],
        ['bbox_pred.bias', [12]],
      ],
    );
    // normal_(std=0.01) weights and zero biases, as torchvision.
    const weight = head.stateDict().get('conv.0.0.weight')!;
    const std = Math.sqrt(weight.mul(weight).mean().item());
    assert.ok(Math.abs(std - 0.01) < 0.0005, `std ${std}`);
    assert.equal(head.stateDict().get('conv.1.0.bias')!.abs().sum().item(), 0);
    const [logits, deltas] = head.call([zeros([2, 64, 5, 6]), zeros([2, 64, 3, 3])]);
    assert.deepEqual(
      [...logits, ...deltas].map((t) => t.shape),
      [
        [2, 3, 5, 6],
        [2, 3, 3, 3],
        [2, 12, 5, 6],
        [2, 12, 3, 3],
      ],
    );
  });

  it('loads checkpoints from before torchvision 0.13, whose convolution was saved as conv.weight', () => {
    const weights = prefixed(fixtureCase('rpn_inputs'), 'w.head.');
    const old = new Map([...weights].map(([k, v]) => [k.replace(/^conv\.0\.0\./, 'conv.'), v]));
    assert.ok(old.has('conv.weight') && old.has('conv.bias'));
    const head = new RPNHead(4, 3);
    head.loadStateDict(old);
    assertClose(head.stateDict().get('conv.0.0.weight'), weights.get('conv.0.0.weight')!, { rtol: 0, atol: 0 });
    assertClose(head.stateDict().get('conv.0.0.bias'), weights.get('conv.0.0.bias')!, { rtol: 0, atol: 0 });
  });
});

describe('RoIHeads', () => {
  const inputs = fixtureCase('roi_heads_inputs');
  const p = inputs.params as {
    num_classes: number;
    representation_size: number;
    mask_layers: number[];
    fg_iou_thresh: number;
    bg_iou_thresh: number;
    batch_size_per_image: number;
    positive_fraction: number;
    score_thresh: number;
    nms_thresh: number;
    detections_per_img: number;
    box_output_size: number;
    mask_output_size: number;
    sampling_ratio: number;
    featmap_names: string[];
  };
  const makeHeads = (): RoIHeads => {
    const maskChannels = p.mask_layers[p.mask_layers.length - 1]!;
    const heads = new RoIHeads(
      new MultiScaleRoIAlign(p.featmap_names, p.box_output_size, p.sampling_ratio),
      new TwoMLPHead(4 * p.box_output_size ** 2, p.representation_size),
      new FastRCNNPredictor(p.representation_size, p.num_classes),
      {
        fgIouThresh: p.fg_iou_thresh,
        bgIouThresh: p.bg_iou_thresh,
        batchSizePerImage: p.batch_size_per_image,
        positiveFraction: p.positive_fraction,
        scoreThresh: p.score_thresh,
        nmsThresh: p.nms_thresh,
        detectionsPerImg: p.detections_per_img,
        maskRoiPool: new MultiScaleRoIAlign(p.featmap_names, p.mask_output_size, p.sampling_ratio),
        maskHead: new MaskRCNNHeads(4, p.mask_layers, 1),
        maskPredictor: new MaskRCNNPredictor(maskChannels, maskChannels, p.num_classes),
      },
    );
    heads.loadStateDict(prefixed(inputs, 'w.'));
    return heads;
  };
  const proposals = (): Tensor[] => [fixtureTensor(inputs, 'p0'), fixtureTensor(inputs, 'p1')];

  it('gives torchvision detections with masks in eval mode', () => {
    const expected = fixtureCase('roi_heads_eval');
    const [detections, losses] = makeHeads().eval().call(features(inputs), proposals(), IMAGE_SIZES);
    assert.deepEqual(losses, {});
    assert.equal(detections.length, 2);
    detections.forEach((d, i) => {
      assert.deepEqual(Object.keys(d), ['boxes', 'labels', 'scores', 'masks']);
      assertClose(d.boxes, fixtureTensor(expected, `det${i}.boxes`), { atol: 1e-4 }, `det${i}.boxes`);
      assertClose(d.labels, fixtureTensor(expected, `det${i}.labels`), {}, `det${i}.labels`);
      assertClose(d.scores, fixtureTensor(expected, `det${i}.scores`), { atol: 1e-5 }, `det${i}.scores`);
      assertClose(d.masks, fixtureTensor(expected, `det${i}.masks`), { atol: 1e-5 }, `det${i}.masks`);
    });
  });

  for (const name of ['roi_heads_train', 'roi_heads_train_background']) {
    it(`gives torchvision losses and gradients in training mode (${name})`, () => {
      const expected = fixtureCase(name);
      const heads = makeHeads().train();
      const feats = features(inputs);
      const [detections, losses] = heads.call(feats, proposals(), IMAGE_SIZES, targets(expected));
      assert.deepEqual(detections, []);
      assert.deepEqual(Object.keys(losses), ['loss_classifier', 'loss_box_reg', 'loss_mask']);
      for (const [key, loss] of Object.entries(losses)) assertClose(loss, fixtureTensor(expected, key), {}, key);
      Object.values(losses)
        .reduce((a, b) => a.add(b))
        .backward();
      assertGrads(expected, feats, new Map(heads.namedParameters()));
    });
  }

  it('gives empty detections of torchvision shapes when no score passes', () => {
    const heads = makeHeads().eval();
    (heads as { scoreThresh: number }).scoreThresh = 0.99;
    const [detections] = heads.call(features(inputs), [fixtureTensor(inputs, 'p0'), zeros([0, 4])], IMAGE_SIZES);
    for (const d of detections) {
      assert.deepEqual(
        Object.entries(d).map(([k, v]) => [k, v.dtype, v.shape]),
        [
          ['boxes', 'float32', [0, 4]],
          ['labels', 'int64', [0]],
          ['scores', 'float32', [0]],
          ['masks', 'float32', [0, 1, 2 * p.mask_output_size, 2 * p.mask_output_size]],
        ],
      );
    }
  });

  describe('refuses bad targets as torchvision does', () => {
    const expected = fixtureCase('roi_heads_train');
    const call = (ts: DetectionTarget[] | null): unknown =>
      makeHeads().train().call(features(inputs), proposals(), IMAGE_SIZES, ts);
    const withTarget = (change: (t: DetectionTarget) => DetectionTarget): DetectionTarget[] =>
      targets(expected).map(change);
    const cases: [string, () => unknown, RegExp][] = [
      ['no targets', () => call(null), /^\[RoIHeads\] targets should not be None in training mode; give every image/],
      [
        'no masks',
        () => call(withTarget(({ boxes, labels }) => ({ boxes, labels }))),
        /^\[RoIHeads\] Every element of targets should have a masks key; /,
      ],
      [
        'no labels',
        () => call(withTarget((t) => ({ ...t, labels: undefined }) as unknown as DetectionTarget)),
        /^\[RoIHeads\] Every element of targets should have a labels key; /,
      ],
      [
        'integer boxes',
        () => call(withTarget((t) => ({ ...t, boxes: t.boxes.to('int64') }))),
        /^\[RoIHeads\] target boxes must of float type, instead got int64; convert them with .to\('float32'\)$/,
      ],
      [
        'float labels',
        () => call(withTarget((t) => ({ ...t, labels: t.labels.to('float32') }))),
        /^\[RoIHeads\] target labels must of int64 type, instead got float32; convert them with .to\('int64'\)$/,
      ],
    ];
    for (const [name, fn, message] of cases) {
      it(name, () => assert.throws(fn, { name: 'TypeError', message }));
    }
  });
});
