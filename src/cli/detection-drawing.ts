/**
 * An image with its detections drawn over it, as a PNG: masks as translucent colour (one RGBA
 * layer computed with ops from the mask tensor), boxes and "label score" captions as an SVG layer.
 * Each detection's colour follows its label, so one class has one colour throughout a folder.
 */
import sharp, { type OverlayOptions } from 'sharp';
import * as F from '../ops/functional.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** How much of a mask's colour shows over the image. */
const MASK_OPACITY = 0.45;

/** Distinct, saturated colours (Tableau 10), picked by label. */
const PALETTE: readonly (readonly [number, number, number])[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

const colourOf = (label: number): readonly [number, number, number] => PALETTE[label % PALETTE.length]!;

/** What is drawn for one detection, in the image's pixel coordinates. */
export interface DrawnDetection {
  box: readonly [number, number, number, number];
  label: number;
  caption: string;
}

export interface RgbImage {
  /** Bytes [height, width, 3]. */
  rgb: Uint8Array;
  width: number;
  height: number;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * One RGBA layer [H, W, 4] for masks [K, 1, H, W] (probabilities): each pixel takes the colour of
 * the highest-scoring detection whose mask (> 0.5) covers it, and is clear where none does.
 */
function maskLayer(masks: Tensor, labels: readonly number[]): Uint8Array {
  const covered = F.to(F.gt(F.squeeze(masks, 1), 0.5), 'float32'); // [K, H, W]
  const k = covered.shape[0]!;
  // Detections come sorted by score, and argmax takes the first of equal maxima: the best one.
  const first = F.argmax(covered, 0); // [H, W]
  const owner = F.to(F.eq(F.reshape(F.arange(k), [k, 1, 1]), F.unsqueeze(first, 0)), 'float32');
  const colours = tensor(labels.map((l) => [...colourOf(l)]));
  const rgb = F.einsum('khw,kc->hwc', owner, colours);
  const alpha = F.mul(F.amax(covered, [0], true), Math.round(255 * MASK_OPACITY)); // [1, H, W]
  return F.to(F.cat([rgb, F.permute(alpha, [1, 2, 0])], 2), 'uint8').data as Uint8Array;
}

/** Boxes and captions as SVG, with line width and font size following the image's size. */
function boxesSvg(width: number, height: number, detections: readonly DrawnDetection[]): string {
  const line = Math.max(1, Math.round(Math.min(width, height) / 250));
  const font = Math.max(10, Math.round(Math.min(width, height) / 40));
  const shapes = detections.map(({ box: [x1, y1, x2, y2], label, caption }) => {
    const colour = `rgb(${colourOf(label).join(',')})`;
    const textWidth = Math.ceil(caption.length * font * 0.6) + 4;
    // The caption sits above the box, or inside it at the top edge of the image.
    const captionTop = y1 - font - 4 >= 0 ? y1 - font - 4 : y1;
    return (
      `<rect x="${x1}" y="${y1}" width="${Math.max(0, x2 - x1)}" height="${Math.max(0, y2 - y1)}" fill="none" ` +
      `stroke="${colour}" stroke-width="${line}"/>` +
      `<rect x="${x1}" y="${captionTop}" width="${textWidth}" height="${font + 4}" fill="${colour}"/>` +
      `<text x="${x1 + 2}" y="${captionTop + font}" font-family="sans-serif" font-size="${font}" ` +
      `fill="white">${escapeXml(caption)}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`;
}

/** The PNG of `image` with `detections` drawn, and `masks` [K, 1, H, W] (if any) overlaid. */
export async function drawDetections(
  image: RgbImage,
  detections: readonly DrawnDetection[],
  masks: Tensor | undefined,
): Promise<Buffer> {
  const { width, height } = image;
  const layers: OverlayOptions[] = [];
  if (masks !== undefined && detections.length > 0) {
    const rgba = maskLayer(
      masks,
      detections.map((d) => d.label),
    );
    layers.push({
      input: Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength),
      raw: { width, height, channels: 4 },
    });
  }
  layers.push({ input: Buffer.from(boxesSvg(width, height, detections)), left: 0, top: 0 });
  const composed = await sharp(Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.byteLength), {
    raw: { width, height, channels: 3 },
  })
    .composite(layers)
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Compositing adds an alpha channel, all opaque; a second pass drops it (sharp composites last).
  return sharp(composed.data, { raw: composed.info }).removeAlpha().png().toBuffer();
}
