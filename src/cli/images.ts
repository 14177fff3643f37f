/**
 * Images in, tensors out: decoding image files with sharp (at their own size for detection), and
 * torchvision's preset classification transform (resize the shorter side, centre crop, scale to
 * [0, 1], normalise with ImageNet's mean and std).
 */
import sharp from 'sharp';
import * as F from '../ops/functional.js';
import { fromData, tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp']);

export interface Preset {
  resizeSize: number;
  cropSize: number;
  interpolation: 'bilinear' | 'bicubic';
}

const MEAN = tensor([[[0.485]], [[0.456]], [[0.406]]]);
const STD = tensor([[[0.229]], [[0.224]], [[0.225]]]);

/** Decodes an image, resizes its shorter side and centre-crops it: RGB bytes [crop, crop, 3]. */
export async function cropImage(path: string, preset: Preset): Promise<Uint8Array> {
  const image = sharp(path, { failOn: 'error' }).removeAlpha().toColorspace('srgb');
  const { width, height } = await image.metadata();
  if (width === undefined || height === undefined) throw new Error('not an image');
  const scale = preset.resizeSize / Math.min(width, height);
  const w = Math.max(preset.cropSize, Math.round(width * scale));
  const h = Math.max(preset.cropSize, Math.round(height * scale));
  const { data } = await image
    .resize(w, h, { kernel: preset.interpolation === 'bicubic' ? 'cubic' : 'linear', fit: 'fill' })
    .extract({
      left: Math.floor((w - preset.cropSize) / 2),
      top: Math.floor((h - preset.cropSize) / 2),
      width: preset.cropSize,
      height: preset.cropSize,
    })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Decodes an image and applies the preset transform: a float32 tensor [3, crop, crop]. */
export async function loadImage(path: string, preset: Preset): Promise<Tensor> {
  const hwc = fromData('uint8', [preset.cropSize, preset.cropSize, 3], await cropImage(path, preset));
  return F.div(F.sub(F.div(F.permute(F.to(hwc, 'float32'), [2, 0, 1]), 255), MEAN), STD);
}

/** Decodes an image at its own size: RGB bytes [height, width, 3], as detection models take it. */
export async function readRgb(path: string): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(path, { failOn: 'error' })
    .removeAlpha()
    .toColorspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}
