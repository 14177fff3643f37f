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

  it('gives torchvision losses and gradients in training mode', () => {
    const expected = fixtureCase('roi_heads_train');
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
});
