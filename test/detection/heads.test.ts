/**
 * RegionProposalNetwork and RoIHeads against torchvision 0.14 (scripts/fixtures/make_detection_heads.py):
 * proposals, detections with masks, losses and gradients for the same weights and inputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnchorGenerator } from '../../src/models/detection/anchor-utils.js';
import { ImageList, type ImageSize } from '../../src/models/detection/image-list.js';
import { RegionProposalNetwork, RPNHead } from '../../src/models/detection/rpn.js';
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
    assertClose(feats[name]!.grad, expected, { rtol: 1e-3, atol: 1e-5 }, `grad of feature ${name}`);
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
