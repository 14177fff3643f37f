/**
 * The parts of the detection models against torchvision 0.14 (scripts/fixtures/make_detection_parts.py):
 * box ops and batched NMS (both paths), anchors, box coding, matching, the transform (resize, batch,
 * postprocess with mask pasting) and MultiScaleRoIAlign.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnchorGenerator, generateAnchors } from '../../src/models/detection/anchor-utils.js';
import { BalancedPositiveNegativeSampler, BoxCoder, Matcher } from '../../src/models/detection/det-utils.js';
import { ImageList } from '../../src/models/detection/image-list.js';
import { pasteMasksInImage } from '../../src/models/detection/paste-masks.js';
import { GeneralizedRCNNTransform, resizedSize } from '../../src/models/detection/transform.js';
import type { Detection } from '../../src/models/detection/types.js';
import {
  batchedNms,
  batchedNmsCoordinateTrick,
  boxArea,
  boxIou,
  clipBoxesToImage,
  removeSmallBoxes,
} from '../../src/nn/vision-ops/boxes.js';
import { MultiScaleRoIAlign } from '../../src/nn/vision-ops/poolers.js';
import * as F from '../../src/ops/functional.js';
import { rand, tensor, zeros } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/generator.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose, fixtureTensor, loadFixture, type FixtureCase } from '../helpers/compare-with-torch.js';

const cases = loadFixture('detection/parts.json');
const fixture = (name: string): FixtureCase => {
  const c = cases.find((k) => k.name === name);
  if (c === undefined) throw new Error(`no fixture case '${name}'`);
  return c;
};
const exact = { atol: 0, rtol: 0 };
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

/** The script's `lcg_boxes`: integer boxes in a 60x60 square, distinct scores, classes. */
function lcgBoxes(n: number, classes: number, seed: number): [Tensor, Tensor, Tensor] {
  let state = BigInt(seed);
  const values: number[] = [];
  for (let i = 0; i < n * 5; i++) {
    state = (state * 1103515245n + 12345n) % 2n ** 31n;
    values.push(Number(state >> 8n));
  }
  const boxes: number[][] = [];
  const labels: bigint[] = [];
  for (let i = 0; i < n; i++) {
    const [x, y, w, h, c] = values.slice(i * 5, i * 5 + 5) as [number, number, number, number, number];
    const [x1, y1] = [x % 60, y % 60];
    boxes.push([x1, y1, x1 + 4 + (w % 40), y1 + 4 + (h % 40)]);
    labels.push(BigInt(c % classes));
  }
  const scores = Array.from({ length: n }, (_, i) => (((i * 7919) % n) + 1) / (n + 1));
  return [tensor(boxes), tensor(scores), tensor(labels)];
}

describe('box ops', () => {
  const c = fixture('box_ops');
  const boxes1 = fixtureTensor(c, 'boxes1');

  it("give torchvision's areas, IoUs, clipped boxes and kept indices", () => {
    assertClose(boxArea(boxes1), fixtureTensor(c, 'area'));
    assertClose(boxIou(boxes1, fixtureTensor(c, 'boxes2')), fixtureTensor(c, 'iou'), { atol: 1e-6 });
    const [h, w] = c.params.clipSize as [number, number];
    assertClose(clipBoxesToImage(F.sub(boxes1, 3), [h, w]), fixtureTensor(c, 'clipped'));
    assertClose(removeSmallBoxes(boxes1, c.params.minSize as number), fixtureTensor(c, 'small'), exact);
  });

  it("batchedNms keeps torchvision's boxes through one offset NMS (small input)", () => {
    const s = fixture('batched_nms_small');
    const keep = batchedNms(fixtureTensor(s, 'boxes'), fixtureTensor(s, 'scores'), fixtureTensor(s, 'idxs'), 0.5);
    assertClose(keep, fixtureTensor(s, 'keep'), exact);
  });

  it('batchedNms goes class by class above 4000 coordinates, as torchvision on CPU, and both paths agree', () => {
    const s = fixture('batched_nms_large');
    const [boxes, scores, idxs] = lcgBoxes(s.params.n as number, s.params.classes as number, s.params.seed as number);
    assertClose(F.getitem(boxes, F.slice(0, 3)), fixtureTensor(s, 'first_box'), exact, 'generated boxes');
    assertClose(F.getitem(scores, F.slice(0, 3)), fixtureTensor(s, 'first_score'), exact, 'generated scores');
    const threshold = s.params.iouThreshold as number;
    assertClose(batchedNms(boxes, scores, idxs, threshold), fixtureTensor(s, 'keep'), exact, 'per class');
    assertClose(batchedNmsCoordinateTrick(boxes, scores, idxs, threshold), fixtureTensor(s, 'keep'), exact, 'offset');
  });

  it('batchedNms of no boxes keeps none', () => {
    const keep = batchedNms(zeros([0, 4]), zeros([0]), zeros([0], { dtype: 'int64' }), 0.5);
    assert.deepEqual([keep.dtype, ...keep.shape], ['int64', 0]);
  });
});

describe('AnchorGenerator', () => {
  it("makes torchvision's cell anchors (float32, rounded half to even) and grid anchors for each image", () => {
    const c = fixture('anchors');
    const gen = new AnchorGenerator(c.params.sizes as number[][], c.params.aspectRatios as number[][]);
    gen.cellAnchors.forEach((a, i) => assertClose(a, fixtureTensor(c, `cell${i}`), exact, `cell ${i}`));
    assert.deepEqual(gen.numAnchorsPerLocation(), c.params.numAnchorsPerLocation);
    const batch = c.params.batch as number[];
    const imageList = new ImageList(zeros(batch), c.params.imageSizes as [number, number][]);
    const maps = (c.params.maps as [number, number][]).map(([h, w]) => zeros([batch[0]!, 4, h, w]));
    const anchors = gen.call(imageList, maps);
    assert.equal(anchors.length, 2);
    for (const a of anchors) assertClose(a, fixtureTensor(c, 'anchors'), exact);
    assert.equal(gen.stateDict().size, 0, 'cell anchors are not buffers');
  });

  it("defaults to torchvision's sizes (128, 256, 512) and ratios (0.5, 1, 2)", () => {
    assertClose(new AnchorGenerator().cellAnchors[0], fixtureTensor(fixture('anchors_default'), 'cell0'), exact);
    assertClose(generateAnchors([128, 256, 512], [0.5, 1, 2]), fixtureTensor(fixture('anchors_default'), 'cell0'));
  });

  it('says when feature maps and sizes do not pair up', () => {
    const gen = new AnchorGenerator([[16], [32]], [[1], [1]]);
    assert.throws(() => gen.call(new ImageList(zeros([1, 3, 16, 16]), [[16, 16]]), [zeros([1, 2, 4, 4])]), {
      name: 'RangeError',
      message: /There needs to be a match between the number of feature maps passed and the number of sizes/,
    });
  });
});

describe('BoxCoder', () => {
  for (const name of ['box_coder_1', 'box_coder_10']) {
    it(`encodes and decodes as torchvision (${name}), clipping dw/dh at log(1000/16)`, () => {
      const c = fixture(name);
      const coder = new BoxCoder(c.params.weights as [number, number, number, number]);
      const proposals = [fixtureTensor(c, 'prop0'), fixtureTensor(c, 'prop1')];
      const encoded = coder.encode([fixtureTensor(c, 'ref0'), fixtureTensor(c, 'ref1')], proposals);
      assertClose(encoded[0], fixtureTensor(c, 'enc0'), { atol: 1e-5 });
      assertClose(encoded[1], fixtureTensor(c, 'enc1'), { atol: 1e-5 });
      assertClose(coder.decode(fixtureTensor(c, 'rel_codes'), proposals), fixtureTensor(c, 'decoded'), { atol: 1e-4 });
    });
  }
});

describe('Matcher', () => {
  for (const name of ['matcher_plain', 'matcher_low_quality']) {
    it(`matches as torchvision (${name})`, () => {
      const c = fixture(name);
      const matcher = new Matcher(0.6, 0.3, c.params.allowLowQualityMatches as boolean);
      assertClose(matcher.call(fixtureTensor(c, 'quality')), fixtureTensor(c, 'matches'), exact);
    });
  }

  it("gives torchvision's errors for empty targets or proposals and inverted thresholds", () => {
    const matcher = new Matcher(0.7, 0.3);
    assert.throws(() => matcher.call(zeros([0, 5])), {
      name: 'RangeError',
      message: /^\[Matcher\] No ground-truth boxes available for one of the images during training/,
    });
    assert.throws(() => matcher.call(zeros([2, 0])), {
      name: 'RangeError',
      message: /^\[Matcher\] No proposal boxes available for one of the images during training/,
    });
    assert.throws(() => new Matcher(0.3, 0.7), { name: 'RangeError', message: /low_threshold should be <= high/ });
  });
});

describe('BalancedPositiveNegativeSampler', () => {
  it('samples at most the positive fraction, fills with negatives, never ignored ones, and follows its generator', () => {
    const matched = tensor([1n, 0n, -1n, 2n, 0n, 0n, 3n, -2n, 0n, 5n]);
    const sample = (seed: number): [number[], number[]] => {
      const sampler = new BalancedPositiveNegativeSampler(4, 0.5, new Generator(seed));
      const [[pos], [neg]] = sampler.call([matched]);
      assert.equal(pos!.dtype, 'uint8');
      return [pos!.toArray() as number[], neg!.toArray() as number[]];
    };
    const [pos, neg] = sample(3);
    const labels = matched.toArray() as number[];
    const count = (mask: number[]): number => mask.filter((m) => m === 1).length;
    assert.deepEqual([count(pos), count(neg)], [2, 2]);
    pos.forEach((p, i) => p === 1 && assert.ok(labels[i]! >= 1));
    neg.forEach((n, i) => n === 1 && assert.equal(labels[i], 0));
    assert.deepEqual(sample(3), [pos, neg]);
    const samples = new Set(Array.from({ length: 10 }, (_, seed) => JSON.stringify(sample(seed))));
    assert.ok(samples.size > 1, 'other seeds draw other samples');
  });
});

describe('GeneralizedRCNNTransform', () => {
  it("resizes with torchvision's float32 scale and floor'ed sizes", () => {
    for (const [h, w, lo, hi, outH, outW] of fixture('resize_sizes').params.sizes as number[][]) {
      assert.deepEqual(resizedSize([h!, w!], lo!, hi!), [outH, outW], `${h}x${w} with ${lo}/${hi}`);
    }
  });

  it('normalizes, resizes and batches two images of different sizes (eval)', () => {
    const c = fixture('transform_eval');
    const transform = new GeneralizedRCNNTransform(c.params.minSize as number, c.params.maxSize as number, MEAN, STD);
    transform.eval();
    const images = [fixtureTensor(c, 'image0'), fixtureTensor(c, 'image1')];
    const [imageList, targets] = transform.call(images);
    assert.equal(targets, null);
    assert.deepEqual([...imageList.tensors.shape], c.params.batchShape);
    assert.deepEqual(imageList.imageSizes, c.params.imageSizes);
    imageList.imageSizes.forEach(([h, w], i) => {
      const image = F.getitem(imageList.tensors, i);
      assertClose(F.getitem(image, [F.slice(), F.slice(0, h), F.slice(0, w)]), fixtureTensor(c, `resized${i}`), {
        atol: 1e-5,
      });
      // The padding is zeros.
      const total = F.sum(F.abs(image)).item();
      const inside = F.sum(F.abs(F.getitem(image, [F.slice(), F.slice(0, h), F.slice(0, w)]))).item();
      assert.ok(Math.abs(total - inside) < 1e-6 * total);
    });
  });

  it('resizes to fixedSize ([width, height])', () => {
    const c = fixture('transform_fixed_size');
    const transform = new GeneralizedRCNNTransform(10, 14, MEAN, STD, {
      fixedSize: c.params.fixedSize as [number, number],
    });
    transform.eval();
    const [imageList] = transform.call([fixtureTensor(c, 'image0')]);
    assert.deepEqual([...imageList.tensors.shape], c.params.batchShape);
    assertClose(
      F.getitem(imageList.tensors, [0, F.slice(), F.slice(0, 5), F.slice(0, 6)]),
      fixtureTensor(c, 'resized0'),
      {
        atol: 1e-5,
      },
    );
  });

  it('resizes boxes and masks of train targets, leaving the given targets as they were', () => {
    const c = fixture('transform_train');
    const transform = new GeneralizedRCNNTransform(c.params.minSize as number, c.params.maxSize as number, MEAN, STD);
    const boxes = fixtureTensor(c, 'boxes');
    const masks = F.to(fixtureTensor(c, 'masks'), 'uint8');
    const given = { boxes, labels: tensor([1n, 2n]), masks };
    const [imageList, targets] = transform.call([fixtureTensor(c, 'image0')], [given]);
    const [h, w] = c.params.imageSize as [number, number];
    assert.deepEqual(imageList.imageSizes, [[h, w]]);
    assertClose(
      F.getitem(imageList.tensors, [0, F.slice(), F.slice(0, h), F.slice(0, w)]),
      fixtureTensor(c, 'resized0'),
      {
        atol: 1e-5,
      },
    );
    const target = targets![0]!;
    assertClose(target.boxes, fixtureTensor(c, 'out_boxes'));
    assert.equal(target.masks!.dtype, 'uint8');
    assertClose(F.to(target.masks!, 'float32'), fixtureTensor(c, 'out_masks'), exact);
    assert.equal(given.boxes, boxes);
    assert.equal(given.masks, masks);
  });

  it('draws the train min size from its generator, among the given sizes', () => {
    const transform = new GeneralizedRCNNTransform([8, 16, 24], 100, MEAN, STD, { generator: new Generator(1) });
    const heights = new Set(Array.from({ length: 30 }, () => transform.call([rand([3, 8, 8])])[0].imageSizes[0]![0]));
    assert.deepEqual(
      [...heights].sort((a, b) => a - b),
      [8, 16, 24],
    );
  });

  it('maps detections back to the original images and pastes their masks (postprocess)', () => {
    const c = fixture('transform_postprocess');
    const transform = new GeneralizedRCNNTransform(10, 14, MEAN, STD);
    transform.eval();
    const result: Detection[] = [0, 1].map((i) => ({
      boxes: fixtureTensor(c, `boxes${i}`),
      labels: tensor([1n, 2n, 3n]),
      scores: tensor([0.9, 0.8, 0.7]),
      masks: fixtureTensor(c, `masks${i}`),
    }));
    const shapes = c.params.imageShapes as [number, number][];
    const post = transform.postprocess(result, shapes, c.params.originalSizes as [number, number][]);
    post.forEach((det, i) => {
      assertClose(det.boxes, fixtureTensor(c, `out_boxes${i}`));
      assertClose(det.masks, fixtureTensor(c, `out_masks${i}`), { atol: 1e-5 });
    });
  });

  it("pastes masks as torchvision's paste_masks_in_image, boxes past the image edges included", () => {
    const c = fixture('paste_masks');
    const pasted = pasteMasksInImage(fixtureTensor(c, 'masks'), fixtureTensor(c, 'boxes'), [10, 14]);
    assertClose(pasted, fixtureTensor(c, 'pasted'), { atol: 1e-5 });
    assert.deepEqual([...pasteMasksInImage(zeros([0, 1, 5, 5]), zeros([0, 4]), [10, 14]).shape], [0, 1, 10, 14]);
  });

  it("gives torchvision's errors for bad images", () => {
    const transform = new GeneralizedRCNNTransform(10, 14, MEAN, STD);
    assert.throws(() => transform.call([rand([1, 3, 8, 8])]), {
      name: 'RangeError',
      message:
        '[GeneralizedRCNNTransform] images is expected to be a list of 3d tensors of shape [C, H, W], got [1, 3, 8, 8]',
    });
    assert.throws(() => transform.call([tensor([[[1, 2]]], { dtype: 'int64' })]), {
      name: 'TypeError',
      message: /Expected input images to be of floating type \(in range \[0, 1\]\), but found type int64 instead/,
    });
    assert.throws(() => transform.call([rand([4, 8, 8])]), {
      name: 'RangeError',
      message: /The size of tensor a \(4\) must match the size of tensor b \(3\) at non-singleton dimension 0/,
    });
    assert.throws(() => transform.call([]), { name: 'RangeError', message: /images is an empty list/ });
  });

  it("prints as torchvision's __repr__", () => {
    assert.equal(
      String(new GeneralizedRCNNTransform(800, 1333, MEAN, STD)),
      'GeneralizedRCNNTransform(\n' +
        '    Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])\n' +
        "    Resize(min_size=(800,), max_size=1333, mode='bilinear')\n)",
    );
  });
});

describe('MultiScaleRoIAlign', () => {
  const c = fixture('multiscale_roi_align');
  const features = Object.fromEntries(['0', '1', 'skipped', '2', '3'].map((k) => [k, fixtureTensor(c, `feat_${k}`)]));
  const boxes = [fixtureTensor(c, 'boxes0'), fixtureTensor(c, 'boxes1')];
  const imageShapes = c.params.imageShapes as [number, number][];

  it('pools each box from its level, in the boxes order, with scales inferred from the sizes', () => {
    const pooler = new MultiScaleRoIAlign(['0', '1', '2', '3'], 3, 2, { canonicalScale: 8, canonicalLevel: 4 });
    const out = pooler.call(features, boxes, imageShapes);
    assert.deepEqual(pooler.scales, c.params.scales);
    assertClose(pooler.mapLevels!.call(boxes), fixtureTensor(c, 'levels'), exact);
    assertClose(out, fixtureTensor(c, 'out'), { atol: 1e-5 });
    assert.equal(
      String(pooler),
      "MultiScaleRoIAlign(featmap_names=['0', '1', '2', '3'], output_size=(3, 3), sampling_ratio=2)",
    );
  });

  it('gives the same rows when every box falls on one level', () => {
    const pooler = new MultiScaleRoIAlign(['0', '1', '2', '3'], 3, 2, { canonicalScale: 8, canonicalLevel: 4 });
    const smallest = [F.getitem(boxes[0]!, F.slice(0, 1)), F.getitem(boxes[1]!, F.slice(1, 2))];
    const out = pooler.call(features, smallest, imageShapes);
    assertClose(pooler.mapLevels!.call(smallest), tensor([0n, 0n]), exact);
    assertClose(out, F.indexSelect(fixtureTensor(c, 'out'), 0, tensor([0n, 5n])), { atol: 1e-5 });
  });

  it('pools from a single level directly', () => {
    const single = new MultiScaleRoIAlign(['1'], [2, 3], -1);
    assertClose(
      single.call(features, boxes, imageShapes),
      fixtureTensor(fixture('multiscale_roi_align_single'), 'out'),
      {
        atol: 1e-5,
      },
    );
  });

  it('passes gradients back to the features of every level', () => {
    const pooler = new MultiScaleRoIAlign(['0', '1', '2', '3'], 3, 2, { canonicalScale: 8, canonicalLevel: 4 });
    const leaves = Object.fromEntries(Object.entries(features).map(([k, v]) => [k, v.detach().requiresGrad_()]));
    F.sum(pooler.call(leaves, boxes, imageShapes)).backward();
    for (const k of ['0', '1', '2', '3']) assert.ok(F.sum(F.abs(leaves[k]!.grad!)).item() > 0, `level ${k}`);
  });

  it('says when no image sizes are given, as torchvision', () => {
    const pooler = new MultiScaleRoIAlign(['0', '1'], 3, 2);
    assert.throws(() => pooler.call(features, boxes, []), {
      name: 'RangeError',
      message: /images list should not be empty/,
    });
  });
});
