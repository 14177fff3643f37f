/**
 * `featurefx visualize`: a grid of one node's channels for one image, each channel drawn as the
 * browser page draws it (featureMapPixels: scaled to 0..255 on its own, then a colour map), with
 * the node name and shape written above.
 */
import sharp from 'sharp';
import { noGrad } from '../autograd/grad-mode.js';
import type { ColormapName } from '../explain/colormaps.js';
import { featureMapPixels } from '../explain/feature-map-pixels.js';
import * as F from '../ops/functional.js';
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
  options: { out: string; weights?: string; colormap?: ColormapName },
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
  const data = features.data as Float32Array;
  const cols = Math.ceil(Math.sqrt(shown));
  const rows = Math.ceil(shown / cols);
  const tiles = await Promise.all(
    Array.from({ length: shown }, (_, c) =>
      sharp(Buffer.from(featureMapPixels(data, c * h * w, h, w, options.colormap ?? 'gray').buffer), {
        raw: { width: w, height: h, channels: 4 },
      })
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
