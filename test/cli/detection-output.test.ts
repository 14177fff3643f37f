/**
 * What `detect` writes for one image, from a stand-in detection: the JSON record (masks as COCO
 * RLE that decodes back to `mask > 0.5`) and the drawing (the image's size, boxes and masks over it).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { drawDetections } from '../../src/cli/detection-drawing.js';
import { detectionRecord, encodeMasks } from '../../src/cli/detection-record.js';
import type { Detection } from '../../src/models/detection/types.js';
import { fromData, rand, tensor } from '../../src/tensor/creation.js';

/** COCO's decoding: runs alternate 0s and 1s, column-major. */
function decodeRle(rle: { size: [number, number]; counts: number[] }): Uint8Array {
  const [h, w] = rle.size;
  const columnMajor = new Uint8Array(h * w);
  let at = 0;
  rle.counts.forEach((run, i) => {
    columnMajor.fill(i % 2, at, at + run);
    at += run;
  });
  assert.equal(at, h * w, 'the runs cover the image');
  return Uint8Array.from({ length: h * w }, (_, p) => columnMajor[(p % w) * h + Math.floor(p / w)]!);
}

const W = 7;
const H = 5;

function standIn(): Detection {
  return {
    boxes: tensor([
      [1, 1, 4, 3],
      [0.5, 0, 6.5, 5],
      [2, 2, 3, 3],
    ]),
    labels: fromData('int64', [3], BigInt64Array.from([1n, 18n, 12n])),
    scores: tensor([0.9, 0.6, 0.2]),
    masks: rand([3, 1, H, W]),
  };
}

test('masks become COCO RLE of mask > 0.5, a set first pixel giving an empty first run', () => {
  const masks = rand([4, 1, H, W]);
  const data = masks.data as Float32Array;
  data.fill(0.9, 2 * H * W, 3 * H * W); // all set
  data.fill(0.1, 3 * H * W, 4 * H * W); // none set
  const rles = encodeMasks(masks);
  rles.forEach((rle, k) => {
    assert.deepEqual(rle.size, [H, W]);
    const expected = Uint8Array.from(data.subarray(k * H * W, (k + 1) * H * W), (v) => (v > 0.5 ? 1 : 0));
    assert.deepEqual(decodeRle(rle), expected);
  });
  assert.deepEqual(rles[2]!.counts, [0, H * W]);
  assert.deepEqual(rles[3]!.counts, [H * W]);
});

test('the record lists the detections with their names, masks as RLE', () => {
  const names = ['__background__', 'person'];
  const record = detectionRecord(
    standIn(),
    { image: '/x/a.png', width: W, height: H, model: 'maskrcnn_resnet50_fpn', scoreThreshold: 0.6 },
    (l) => names[l] ?? `class ${l}`,
  );
  assert.deepEqual(record.boxes, [
    [1, 1, 4, 3],
    [0.5, 0, 6.5, 5],
    [2, 2, 3, 3],
  ]);
  assert.deepEqual(record.labels, [1, 18, 12]);
  assert.deepEqual(record.label_names, ['person', 'class 18', 'class 12']);
  assert.deepEqual(
    record.scores.map((s) => Math.round(s * 100) / 100),
    [0.9, 0.6, 0.2],
  );
  assert.equal(record.masks?.length, 3);
  assert.equal(record.score_threshold, 0.6);
});

test('the drawing is the image at its size, coloured where a box or a mask is, untouched elsewhere', async () => {
  const size = { width: 64, height: 48 };
  const rgb = new Uint8Array(size.width * size.height * 3).fill(128);
  const masks = fromData('float32', [1, 1, size.height, size.width], new Float32Array(size.width * size.height));
  (masks.data as Float32Array).fill(1, 40 * size.width, 41 * size.width); // row 40
  const png = await drawDetections(
    { rgb, ...size },
    [{ box: [10, 20, 30, 30], label: 1, caption: 'person 0.90' }],
    masks,
  );
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [size.width, size.height, 3]);
  const pixel = (x: number, y: number): number[] => [
    ...data.subarray((y * size.width + x) * 3, (y * size.width + x) * 3 + 3),
  ];
  assert.deepEqual(pixel(60, 5), [128, 128, 128], 'far from the box and mask');
  assert.notDeepEqual(pixel(10, 25), [128, 128, 128], 'the box edge');
  assert.notDeepEqual(pixel(50, 40), [128, 128, 128], 'the mask');
  assert.deepEqual(pixel(50, 44), [128, 128, 128], 'below the mask');
});
