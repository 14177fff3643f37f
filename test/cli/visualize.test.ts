/**
 * `featurefx visualize` (`npm run build` first) draws each channel as the browser page does: the
 * tiles are featureMapPixels of the node's channels in the colour map asked for, scaled up.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { noGrad } from '../../src/autograd/grad-mode.js';
import { loadImage } from '../../src/cli/images.js';
import { buildExtractor, loadModel } from '../../src/cli/model-setup.js';
import { featureMapPixels } from '../../src/explain/feature-map-pixels.js';
import * as F from '../../src/ops/functional.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { run } from './cli-helpers.js';

const SAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'sample.png');
/** visualize.ts's layout: 96-pixel tiles in 98-pixel cells, 8 columns for 64 channels, below a 40-pixel header. */
const TILE = 96;
const CELL = 98;
const HEADER = 40;

test('visualize --colormap viridis draws the channels as featureMapPixels, each scaled to its tile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-visualize-'));
  const r = run(
    ['visualize', 'resnet18', SAMPLE, '--node', 'layer1', '--colormap', 'viridis', '--out', 'grid.png'],
    dir,
  );
  assert.equal(r.status, 0, r.stderr);
  // The same features in this process: the zoo's random weights are seeded.
  const { model, preset } = loadModel('resnet18', undefined);
  const input = F.unsqueeze(await loadImage(SAMPLE, preset), 0);
  const out = noGrad(() => buildExtractor(model, 'layer1').call(input)) as Record<string, Tensor>;
  const features = out['layer1']!.data as Float32Array;
  const { data: png, info } = await sharp(join(dir, 'grid.png'))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const size = 56;
  for (const c of [0, 9, 63]) {
    // The tile as sharp's nearest-neighbour scaling makes it from featureMapPixels of the channel.
    const want = featureMapPixels(features, c * size * size, size, size, 'viridis');
    const tile = await sharp(Buffer.from(want.buffer), { raw: { width: size, height: size, channels: 4 } })
      .resize(TILE, TILE, { kernel: 'nearest', fit: 'fill' })
      .removeAlpha()
      .raw()
      .toBuffer();
    const left = (c % 8) * CELL + 1;
    const top = HEADER + Math.floor(c / 8) * CELL + 1;
    for (let y = 0; y < TILE; y++) {
      const row = png.subarray(((top + y) * info.width + left) * 3, ((top + y) * info.width + left + TILE) * 3);
      assert.deepEqual(row, tile.subarray(y * TILE * 3, (y + 1) * TILE * 3), `channel ${c}, row ${y} of its tile`);
    }
  }
});

test('visualize refuses a colour map it does not have, naming those it has', () => {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-visualize-'));
  const r = run(['visualize', 'resnet18', SAMPLE, '--node', 'layer1', '--colormap', 'turbo', '--out', 'grid.png'], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /argument 'turbo' is invalid\. Allowed choices are gray, viridis, inferno, jet\./);
});
