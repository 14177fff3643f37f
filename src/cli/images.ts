/**
 * Images in, tensors out: decoding image files with sharp (at their own size for detection), and
 * torchvision's preset classification transform. By default the transform is torchvision's own
 * arithmetic on PIL images (src/preprocess/image-classification.ts, run by ONNX Runtime); with
 * `fastResize`, sharp resizes instead, shrinking JPEGs while decoding them: faster on large photos,
 * but not torchvision's pixels (issue 18 measured 0.4–0.9% off in resnet50's feature maps, where
 * the default is PIL's bit for bit).
 */
import sharp from 'sharp';
import {
  type ClassificationPreset,
  IMAGENET_MEAN,
  IMAGENET_STD,
} from '../preprocess/image-classification.js';
import { ImagePreprocessor } from '../preprocess/image-preprocessor.js';
import { fromData } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp']);

export interface Preset extends ClassificationPreset {
  /** Resize with sharp (JPEG shrink-on-load) instead of torchvision's arithmetic: faster, approximate. */
  fastResize?: boolean;
}

/** One compiled preprocessing per preset, shared by every image that uses it. */
const preprocessors = new Map<string, ImagePreprocessor>();

function preprocessor(preset: ClassificationPreset): ImagePreprocessor {
  const { resizeSize, cropSize, interpolation, mean, std } = preset;
  const key = JSON.stringify([resizeSize, cropSize, interpolation, mean, std]);
  let p = preprocessors.get(key);
  if (p === undefined) {
    p = new ImagePreprocessor({ resizeSize, cropSize, interpolation, mean, std });
    preprocessors.set(key, p);
  }
  return p;
}

/** sharp's resize of the shorter side and centre crop: RGB bytes [crop, crop, 3]. */
async function cropImageFast(path: string, preset: Preset): Promise<Uint8Array> {
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

/** Decodes an image, resizes its shorter side and centre-crops it: RGB bytes [crop, crop, 3]. */
export async function cropImage(path: string, preset: Preset): Promise<Uint8Array> {
  if (preset.fastResize === true) return cropImageFast(path, preset);
  const { rgb, width, height } = await readRgb(path);
  return preprocessor(preset).run(rgb, width, height).pixels;
}

/**
 * `ToTensor` and `Normalize` of RGB bytes [size, size, 3]: float32 [3, size, size]. Each step is
 * rounded to float32 as torch's float32 ops round it (`Math.fround` of one double operation on
 * float32 operands is the correctly rounded float32 result).
 */
function normalize(hwc: Uint8Array, size: number, preset: Preset): Float32Array {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround((preset.mean ?? IMAGENET_MEAN)[c]!);
    const std = Math.fround((preset.std ?? IMAGENET_STD)[c]!);
    for (let i = 0; i < plane; i++) out[c * plane + i] = Math.fround(Math.fround(hwc[3 * i + c]! / 255) - mean) / std;
  }
  return out;
}

/**
 * Decodes an image and applies the preset transform: float32 values [3, crop, crop], in a buffer
 * of their own (the image workers hand it over without a copy).
 */
export async function preprocessImage(path: string, preset: Preset): Promise<Float32Array> {
  if (preset.fastResize === true) return normalize(await cropImageFast(path, preset), preset.cropSize, preset);
  const { rgb, width, height } = await readRgb(path);
  return preprocessor(preset).run(rgb, width, height).input;
}

/** Decodes an image and applies the preset transform: a float32 tensor [3, crop, crop]. */
export async function loadImage(path: string, preset: Preset): Promise<Tensor> {
  const size = preset.cropSize;
  return fromData('float32', [3, size, size], await preprocessImage(path, preset));
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
