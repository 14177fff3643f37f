/**
 * torchvision's ImageClassification preset as a PIL user runs it, computed by ONNX Runtime:
 * `Resize(resizeSize)` of the shorter side with PIL's antialiased filters, `CenterCrop(cropSize)`,
 * `ToTensor`, `Normalize(mean, std)`. PIL resizes in uint8 with two separable passes, horizontal
 * first, each rounding to uint8; the graph runs the same passes as two uint8 `Resize` nodes (opset
 * 18's `antialias`), whose arithmetic ONNX Runtime takes from PIL's (fixed-point weights, stretched
 * support when downscaling, weights outside the image dropped and the rest renormalised).
 */
import type { OnnxGraph, OnnxInitializer } from '../runtime/onnx-model.js';
import { encodeModel } from '../runtime/onnx-model.js';
import { NativeSession } from '../runtime/native-session.js';

export interface ClassificationPreset {
  resizeSize: number;
  cropSize: number;
  interpolation: 'bilinear' | 'bicubic';
  /** Per-channel mean and std of `Normalize`; ImageNet's when omitted, as torchvision's default. */
  mean?: readonly number[] | undefined;
  std?: readonly number[] | undefined;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** torchvision's `_compute_resized_output_size` for one size: the shorter side becomes `size`. */
export function resizedSize(height: number, width: number, size: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.floor((size * long) / short);
  return width <= height ? [newLong, size] : [size, newLong];
}

/** Python's `round` (half to even), which `center_crop` applies to half-pixel offsets. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's `center_crop` offsets: `int(round((size - crop) / 2.0))`. */
export function centerCropOffset(size: number, crop: number): number {
  return roundHalfEven((size - crop) / 2);
}

function int64s(name: string, values: readonly number[]): OnnxInitializer {
  return { name, type: 'int64', dims: [values.length], raw: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) };
}

function floats(name: string, dims: number[], values: readonly number[]): OnnxInitializer {
  return { name, type: 'float32', dims, raw: new Uint8Array(Float32Array.from(values).buffer) };
}

/**
 * The preprocessing graph. Inputs: `image` uint8 [1, H, W, 3], `width_sizes` and `height_sizes`
 * (the Resize sizes of the horizontal and vertical passes, NCHW), `crop_starts` [top, left].
 * Outputs: `input` float32 [1, 3, crop, crop] and `pixels` uint8 [1, crop, crop, 3].
 */
export function preprocessGraph(preset: ClassificationPreset): OnnxGraph {
  const crop = preset.cropSize;
  const resize = {
    mode: preset.interpolation === 'bicubic' ? 'cubic' : 'linear',
    antialias: 1,
    // PIL's bicubic filter; ignored by 'linear'.
    cubic_coeff_a: { float: -0.5 },
    // PIL samples at pixel centres, and drops the weights of taps outside the image.
    coordinate_transformation_mode: 'half_pixel',
    exclude_outside: 1,
  };
  return {
    name: 'featurefx_preprocess',
    opset: 18,
    nodes: [
      { opType: 'Transpose', inputs: ['image'], outputs: ['nchw'], attributes: { perm: [0, 3, 1, 2] } },
      { opType: 'Resize', inputs: ['nchw', '', '', 'width_sizes'], outputs: ['wide'], attributes: resize },
      { opType: 'Resize', inputs: ['wide', '', '', 'height_sizes'], outputs: ['resized'], attributes: resize },
      { opType: 'Add', inputs: ['crop_starts', 'crop_size'], outputs: ['crop_ends'] },
      { opType: 'Slice', inputs: ['resized', 'crop_starts', 'crop_ends', 'crop_axes'], outputs: ['cropped'] },
      { opType: 'Transpose', inputs: ['cropped'], outputs: ['pixels'], attributes: { perm: [0, 2, 3, 1] } },
      { opType: 'Cast', inputs: ['cropped'], outputs: ['float'], attributes: { to: 1 } },
      // ToTensor divides by 255, Normalize subtracts then divides, all in float32, as torch does.
      { opType: 'Div', inputs: ['float', 'max_value'], outputs: ['scaled'] },
      { opType: 'Sub', inputs: ['scaled', 'mean'], outputs: ['centred'] },
      { opType: 'Div', inputs: ['centred', 'std'], outputs: ['input'] },
    ],
    inputs: [
      { name: 'image', type: 'uint8', shape: [1, 'height', 'width', 3] },
      { name: 'width_sizes', type: 'int64', shape: [4] },
      { name: 'height_sizes', type: 'int64', shape: [4] },
      { name: 'crop_starts', type: 'int64', shape: [2] },
    ],
    outputs: [
      { name: 'input', type: 'float32', shape: [1, 3, crop, crop] },
      { name: 'pixels', type: 'uint8', shape: [1, crop, crop, 3] },
    ],
    initializers: [
      int64s('crop_size', [crop, crop]),
      int64s('crop_axes', [2, 3]),
      floats('max_value', [], [255]),
      floats('mean', [3, 1, 1], preset.mean ?? IMAGENET_MEAN),
      floats('std', [3, 1, 1], preset.std ?? IMAGENET_STD),
    ],
  };
}

/** The preset's preprocessing, compiled once and run per image. */
export class ImagePreprocessor {
  private readonly session: NativeSession;

  constructor(readonly preset: ClassificationPreset) {
    this.session = new NativeSession(encodeModel(preprocessGraph(preset)), {
      intraOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  }

  /**
   * Preprocesses decoded RGB bytes [height, width, 3]: `input` float32 [3, crop, crop] (normalised)
   * and `pixels`, the resized and cropped RGB bytes [crop, crop, 3].
   */
  run(rgb: Uint8Array, width: number, height: number): { input: Float32Array; pixels: Uint8Array } {
    const { resizeSize, cropSize } = this.preset;
    const [h, w] = resizedSize(height, width, resizeSize);
    const [input, pixels] = this.session.run([
      { type: 'uint8', dims: [1, height, width, 3], data: rgb },
      { type: 'int64', dims: [4], data: BigInt64Array.from([1, 3, height, w], BigInt) },
      { type: 'int64', dims: [4], data: BigInt64Array.from([1, 3, h, w], BigInt) },
      {
        type: 'int64',
        dims: [2],
        data: BigInt64Array.from([centerCropOffset(h, cropSize), centerCropOffset(w, cropSize)], BigInt),
      },
    ]);
    return { input: input!.data as Float32Array, pixels: pixels!.data as Uint8Array };
  }

  dispose(): void {
    this.session.dispose();
  }
}
