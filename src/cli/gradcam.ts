/**
 * `featurefx gradcam`: the Grad-CAM map of one image (compiled: forward and gradient in one ONNX
 * Runtime run), drawn as a jet heat map over the image as the model saw it (resized and
 * centre-cropped), with the class explained and its score printed.
 */
import { rmSync } from 'node:fs';
import sharp from 'sharp';
import { compileGradCam } from '../explain/grad-cam.js';
import * as F from '../ops/functional.js';
import { cropImage, loadImage } from './images.js';
import { loadModel } from './model-setup.js';
import { writeDurably } from './output-store.js';

/** How much of the heat map shows over the image. */
const HEAT_OPACITY = 0.5;

/** Jet: blue (0) through cyan, yellow, to red (1), as 256 RGB triples. */
const JET = Uint8Array.from({ length: 256 * 3 }, (_, k) => {
  const t = Math.floor(k / 3) / 255;
  const centre = [3, 2, 1][k % 3]!;
  return Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - centre))));
});

/** A [size, size] map of bytes as RGBA pixels of the colormap, with the heat map's opacity. */
function heatPixels(levels: Uint8Array): Uint8Array {
  const pixels = new Uint8Array(levels.length * 4);
  levels.forEach((level, i) => {
    pixels.set(JET.subarray(level * 3, level * 3 + 3), i * 4);
    pixels[i * 4 + 3] = Math.round(255 * HEAT_OPACITY);
  });
  return pixels;
}

export async function gradcam(
  modelName: string,
  image: string,
  options: { node: string; classIndex: number | undefined; weights: string | undefined; out: string },
): Promise<void> {
  const { model, preset } = loadModel(modelName, options.weights);
  const input = F.unsqueeze(await loadImage(image, preset), 0);
  const cams = compileGradCam(model, { node: options.node });
  let result;
  try {
    result = cams.call(input, options.classIndex);
  } finally {
    cams.dispose();
  }
  const size = preset.cropSize;
  const levels = F.to(F.mul(result.cam, 255), 'uint8').data as Uint8Array;
  const pixels = Buffer.from(await cropImage(image, preset));
  const png = await sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
    .composite([{ input: Buffer.from(heatPixels(levels)), raw: { width: size, height: size, channels: 4 } }])
    .png()
    .toBuffer();
  // Written beside the destination and renamed, so that a failed run leaves no half-written file.
  const tmp = `${options.out}.${process.pid}.tmp`;
  try {
    writeDurably(options.out, png, tmp);
  } finally {
    rmSync(tmp, { force: true });
  }
  const target = result.target[0]!;
  const score = (result.logits.data as Float32Array)[target]!;
  console.log(`class ${target}\tscore ${score.toFixed(4)}`);
  process.stderr.write(`featurefx: wrote ${options.out} (Grad-CAM of '${options.node}' for class ${target})\n`);
}
