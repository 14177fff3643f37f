/**
 * `featurefx gradcam` on the bundled image (`npm run build` first): a PNG of the model's input
 * size with the class and score printed, and the errors for a bad node and a missing image.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { run } from './cli-helpers.js';

const SAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'sample.png');

test('gradcam writes the heat map over the image as a PNG and prints the class and its score', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-gradcam-'));
  const r = run(['gradcam', 'resnet18', SAMPLE, '--node', 'layer4', '--class', '7', '--out', 'cam.png'], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^class 7\tscore -?\d+\.\d{4}\n$/);
  const meta = await sharp(join(dir, 'cam.png')).metadata();
  // resnet18's preset crops to 224 x 224: the map covers what the model saw.
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 224, 224]);
  assert.deepEqual(readdirSync(dir), ['cam.png'], 'no temporary file is left');
});

test('gradcam with a node the model does not have names the closest nodes and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-gradcam-'));
  const r = run(['gradcam', 'resnet18', SAMPLE, '--node', 'layer5', '--out', 'cam.png'], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /featurefx: error: .*'layer5'.*layer4/s);
  assert.deepEqual(readdirSync(dir), []);
});

test('gradcam with a missing image says which file and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-gradcam-'));
  const r = run(['gradcam', 'resnet18', 'no-such.png', '--node', 'layer4', '--out', 'cam.png'], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /featurefx: error: .*no-such\.png/);
  assert.ok(!existsSync(join(dir, 'cam.png')));
});
