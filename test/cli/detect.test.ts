/**
 * `featurefx detect` as a subprocess (`npm run build` first), with random weights, a small resize
 * and --score 0 so that there are detections: the JSON and PNG of each image, and the errors users
 * meet, after which nothing is written.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { COCO_CATEGORIES } from '../../src/models/detection/coco-categories.js';
import { imageFolder, run } from './cli-helpers.js';

const SMALL = ['--min-size', '64', '--max-size', '96'];

interface Record {
  image: string;
  score_threshold: number;
  width: number;
  height: number;
  boxes: number[][];
  labels: number[];
  label_names: string[];
  scores: number[];
  masks?: { size: number[]; counts: number[] }[];
}

const readRecord = (path: string): Record => JSON.parse(readFileSync(path, 'utf8')) as Record;

test('detect writes each image its detections as JSON and a PNG of its size, for images of two sizes; a broken one is skipped', async () => {
  const dir = await imageFolder(2); // 40x32 and 41x32
  writeFileSync(join(dir, 'images', 'zz-broken.png'), 'not an image');
  const r = run(
    ['detect', 'fasterrcnn_mobilenet_v3_large_fpn', 'images', '--score', '0', ...SMALL, '--out', 'out'],
    dir,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /random weights/);
  assert.match(r.stderr, /skipping .*zz-broken\.png/);
  assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['img-00.json', 'img-00.png', 'img-01.json', 'img-01.png']);
  for (const [stem, width] of [
    ['img-00', 40],
    ['img-01', 41],
  ] as const) {
    const record = readRecord(join(dir, 'out', `${stem}.json`));
    assert.deepEqual([record.image, record.width, record.height], [join(dir, 'images', `${stem}.png`), width, 32]);
    const k = record.scores.length;
    assert.ok(k > 0, 'random weights give detections at score 0');
    assert.deepEqual([record.boxes.length, record.labels.length, record.label_names.length], [k, k, k]);
    assert.deepEqual(
      record.label_names,
      record.labels.map((l) => COCO_CATEGORIES[l]),
    );
    for (const [x1, y1, x2, y2] of record.boxes)
      assert.ok(0 <= x1! && x1! <= x2! && x2! <= width && 0 <= y1! && y1! <= y2! && y2! <= 32);
    assert.deepEqual(
      record.scores,
      [...record.scores].sort((a, b) => b - a),
    );
    assert.equal(record.masks, undefined, 'Faster R-CNN has no masks');
    const meta = await sharp(join(dir, 'out', `${stem}.png`)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', width, 32]);
  }
});

test("--score keeps the detections scoring above it (the model's boxScoreThresh)", async () => {
  const dir = await imageFolder(1);
  const args = ['detect', 'fasterrcnn_mobilenet_v3_large_fpn', 'images', ...SMALL];
  assert.equal(run([...args, '--score', '0', '--out', 'all'], dir).status, 0);
  const all = readRecord(join(dir, 'all', 'img-00.json')).scores;
  const median = all[Math.floor(all.length / 2)]!;
  const r = run([...args, '--score', String(median), '--out', 'some'], dir);
  assert.equal(r.status, 0, r.stderr);
  const some = readRecord(join(dir, 'some', 'img-00.json'));
  assert.equal(some.score_threshold, median);
  assert.deepEqual(
    some.scores,
    all.filter((s) => s > median),
  );
});

test("Mask R-CNN adds one COCO RLE mask of the image's size per detection", async () => {
  const dir = await imageFolder(1);
  const r = run(
    ['detect', 'maskrcnn_resnet50_fpn', 'images', ...SMALL, '--score', '0', '--max-detections', '3', '--out', 'out'],
    dir,
  );
  assert.equal(r.status, 0, r.stderr);
  const record = readRecord(join(dir, 'out', 'img-00.json'));
  assert.equal(record.scores.length, 3);
  assert.equal(record.masks?.length, 3);
  for (const mask of record.masks!) {
    assert.deepEqual(mask.size, [32, 40]);
    assert.equal(
      mask.counts.reduce((a, b) => a + b, 0),
      32 * 40,
    );
  }
});

test('a classification model is refused with a pointer to extract, and nothing is written', async () => {
  const dir = await imageFolder(1);
  const r = run(['detect', 'resnet18', 'images', '--out', 'out'], dir);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /featurefx: error: resnet18 is a classification model; .*fasterrcnn_resnet50_fpn.*featurefx extract/,
  );
  assert.ok(!existsSync(join(dir, 'out')));
});

test('a missing image, an unknown model and an --out that is a file are refused before anything is written', async () => {
  const dir = await imageFolder(1);
  const missing = run(['detect', 'fasterrcnn_mobilenet_v3_large_fpn', 'no-such.png', '--out', 'out'], dir);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /featurefx: error: no such file or folder: no-such\.png/);
  const unknown = run(['detect', 'maskrcnn', 'images', '--out', 'out'], dir);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /featurefx: error: unknown model 'maskrcnn'\. Closest: .*maskrcnn_resnet50_fpn/);
  assert.ok(!existsSync(join(dir, 'out')));
  writeFileSync(join(dir, 'taken'), 'mine');
  const file = run(['detect', 'fasterrcnn_mobilenet_v3_large_fpn', 'images', '--out', 'taken/out'], dir);
  assert.equal(file.status, 1);
  assert.match(file.stderr, /featurefx: error: --out taken\/out: .*taken is a file; give a folder/);
});

test('an --out holding a file this run would write is refused, and the files there are kept', async () => {
  const dir = await imageFolder(2);
  const out = join(dir, 'out');
  mkdirSync(out);
  for (const name of ['img-00.json', 'img-01.png', 'notes.txt']) writeFileSync(join(out, name), 'mine');
  const r = run(['detect', 'fasterrcnn_mobilenet_v3_large_fpn', 'images', '--out', 'out'], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /featurefx: error: --out out already holds img-00\.json, img-01\.png; /);
  assert.deepEqual(readdirSync(out).sort(), ['img-00.json', 'img-01.png', 'notes.txt']);
  assert.equal(readFileSync(join(out, 'img-01.png'), 'utf8'), 'mine');
});

test('two images with one name stem are refused: their outputs would overwrite each other', async () => {
  const dir = await imageFolder(1);
  await sharp(join(dir, 'images', 'img-00.png'))
    .jpeg()
    .toFile(join(dir, 'images', 'img-00.jpg'));
  const r = run(['detect', 'fasterrcnn_mobilenet_v3_large_fpn', 'images', '--out', 'out'], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /img-00\.jpg and .*img-00\.png would both be written as img-00\.json and img-00\.png/);
  assert.ok(!existsSync(join(dir, 'out')));
});
