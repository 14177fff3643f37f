/**
 * The image the model sees: decoded to RGB bytes by the browser (no colour-space conversion, no
 * premultiplied alpha), then resized, cropped and normalised by featurefx's own preprocessing graph
 * (src/preprocess/image-classification.ts, PIL's resampling as `featurefx extract` runs it) in
 * onnxruntime-web's WebAssembly backend.
 */
import { preprocessGraph, preprocessInputs } from '../src/preprocess/image-classification.js';
import { encodeModel } from '../src/runtime/onnx-model.js';
import type { Preset } from './model-source.js';
import { OrtTensor, type Runtime, SessionCache } from './runtime.js';

/** Decoded RGB bytes [height, width, 3]. */
export interface RgbImage {
  name: string;
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** The model's input and the same pixels as bytes (for the preview and Grad-CAM's overlay). */
export interface ModelInput {
  /** float32 [1, 3, crop, crop], normalised. */
  input: { dims: number[]; data: Float32Array };
  /** uint8 [crop, crop, 3]: the resized and cropped image. */
  pixels: Uint8Array;
  size: number;
}

/** Decodes an image file (any format the browser reads) to RGB bytes. */
export async function decodeImage(name: string, blob: Blob): Promise<RgbImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error(`${name} is not an image this browser can decode (PNG, JPEG, WebP, GIF, ...)`);
  }
  const { width, height } = bitmap;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d')!;
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { name, rgb, width, height };
}

/** Runs the preprocessing graph of each preset (a session per preset, kept while it is used). */
export class Preprocessor {
  private readonly sessions = new SessionCache(2);

  constructor(private readonly runtime: Runtime) {}

  async run(preset: Preset, image: RgbImage): Promise<ModelInput> {
    const session = await this.sessions.get(JSON.stringify(preset), () =>
      // Integer ops (MatMulInteger on uint8) that WebGPU lacks: the graph runs on WebAssembly.
      this.runtime.createSession(encodeModel(preprocessGraph(preset)), { cpuOnly: true }),
    );
    const inputs = preprocessInputs(preset, image.rgb, image.width, image.height);
    const feeds = Object.fromEntries(
      session.inputNames.map((name, i) => {
        const { type, dims, data } = inputs[i]!;
        return [name, new OrtTensor(type as 'uint8' | 'int32', data as Uint8Array | Int32Array, dims)];
      }),
    );
    const out = await session.run(feeds);
    const size = preset.cropSize;
    return {
      input: { dims: [1, 3, size, size], data: out['input']!.data as Float32Array },
      pixels: out['pixels']!.data as Uint8Array,
      size,
    };
  }
}

/** Draws the [size, size, 3] pixels on the canvas at their own resolution. */
export function drawPixels(canvas: HTMLCanvasElement, pixels: Uint8Array, size: number): void {
  canvas.width = size;
  canvas.height = size;
  const image = new ImageData(size, size);
  for (let i = 0, j = 0; j < pixels.length; i += 4, j += 3) {
    image.data[i] = pixels[j]!;
    image.data[i + 1] = pixels[j + 1]!;
    image.data[i + 2] = pixels[j + 2]!;
    image.data[i + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(image, 0, 0);
}
