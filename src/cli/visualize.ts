/**
 * `featurefx visualize`: a grid of one node's channels for one image, each channel scaled to
 * 0..255 on its own, with the node name and shape written above.
 */
import sharp from 'sharp';
import { noGrad } from '../autograd/grad-mode.js';
import * as F from '../ops/functional.js';
import { slice } from '../ops/getitem.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadImage } from './images.js';
import { buildExtractor, loadModel } from './model-setup.js';

const MAX_CHANNELS = 64;
const TILE = 96;

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export async function visualize(
  modelName: string,
  node: string,
  image: string,
  options: { out: string; weights?: string },
): Promise<void> {
  const { model, preset } = loadModel(modelName, options.weights);
  const extractor = buildExtractor(model, node);
  const input = F.unsqueeze(await loadImage(image, preset), 0);
  const out = noGrad(() => extractor.call(input)) as Record<string, Tensor>;
  const features = Object.values(out)[0]!;
  if (features.shape.length !== 4)
    throw new Error(`node '${node}' gives shape [${features.shape.join(', ')}], not a feature map (N, C, H, W)`);
  const [, channels, h, w] = features.shape as [number, number, number, number];
  const shown = Math.min(channels, MAX_CHANNELS);
  const maps = F.getitem(features, [0, slice(0, shown)]);
  // Per-channel min-max scaling to bytes.
  const lo = F.neg(F.amax(F.neg(maps), [1, 2], true));
  const hi = F.amax(maps, [1, 2], true);
  const scaled = F.to(F.mul(F.div(F.sub(maps, lo), F.add(F.sub(hi, lo), 1e-6)), 255), 'uint8');
  const bytes = scaled.data as Uint8Array;
  const cols = Math.ceil(Math.sqrt(shown));
  const rows = Math.ceil(shown / cols);
  const tiles = await Promise.all(
    Array.from({ length: shown }, (_, c) =>
      sharp(Buffer.from(bytes.subarray(c * h * w, (c + 1) * h * w)), { raw: { width: w, height: h, channels: 1 } })
        .resize(TILE, TILE, { kernel: 'nearest', fit: 'fill' })
        .png()
        .toBuffer(),
    ),
  );
  const header = 40;
  const width = cols * (TILE + 2);
  const label = `${escapeXml(modelName)} · ${escapeXml(node)} · [${features.shape.join(', ')}]${shown < channels ? ` · first ${shown} channels` : ''}`;
  const text = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${header}"><text x="8" y="26" font-family="sans-serif" font-size="18" fill="white">${label}</text></svg>`,
  );
  await sharp({ create: { width, height: header + rows * (TILE + 2), channels: 3, background: '#202020' } })
    .composite([
      { input: text, left: 0, top: 0 },
      ...tiles.map((input, c) => ({
        input,
        left: (c % cols) * (TILE + 2) + 1,
        top: header + Math.floor(c / cols) * (TILE + 2) + 1,
      })),
    ])
    .png()
    .toFile(options.out);
  process.stderr.write(`featurefx: wrote ${options.out} (${shown} of ${channels} channels of '${node}')\n`);
}
