/**
 * `featurefx gradcam`: the Grad-CAM map of one image (compiled: forward and gradient in one ONNX
 * Runtime run), drawn as a jet heat map over the image as the model saw it (resized and
 * centre-cropped), with the class explained and its score printed.
 */
import { rmSync } from 'node:fs';
import sharp from 'sharp';
import { compileGradCam } from '../explain/grad-cam.js';
import { heatOverlayPixels } from '../explain/heat-overlay-pixels.js';
import * as F from '../ops/functional.js';
import { cropImage, loadImage } from './images.js';
import { loadModel } from './model-setup.js';
import { writeDurably } from './output-store.js';

/** How much of the heat map shows over the image. */
const HEAT_OPACITY = 0.5;

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
  const pixels = heatOverlayPixels(await cropImage(image, preset), result.cam.data as Float32Array, HEAT_OPACITY);
  const png = await sharp(Buffer.from(pixels.buffer), { raw: { width: size, height: size, channels: 3 } })
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
