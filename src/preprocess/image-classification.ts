/**
 * torchvision's ImageClassification preset as a PIL user runs it, computed by ONNX Runtime:
 * `Resize(resizeSize)` of the shorter side with PIL's antialiased filters, `CenterCrop(cropSize)`,
 * `ToTensor`, `Normalize(mean, std)`, bit for bit. PIL resizes 8-bit images in fixed point, in two
 * separable passes (horizontal first), each clipping to uint8; pil-resample.ts computes PIL's taps
 * and integer weights per image, for the output pixels inside the crop only (each output pixel is
 * independent of the others), and the graph applies them with Gather and MatMulInteger, whose
 * int32 sums are exact. Plain opset-17 operators, which ONNX Runtime Web runs too: this file has no
 * Node imports, so the browser page (web/) builds and feeds the same graph (image-preprocessor.ts
 * runs it in Node).
 */
import type { OnnxGraph, OnnxInitializer } from '../runtime/onnx-model.js';
import type { RawTensor } from '../runtime/raw-tensor.js';
import { PRECISION_BITS, resampleTaps } from './pil-resample.js';

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

/**
 * The classification preset for a model that declares its images' size (an ONNX file's input
 * `shape`, [N, 3, H, W]): a fixed square size S is cropped to S and resized to S / 0.875, as
 * torchvision's ImageNet presets resize 256 for a 224 crop; a size that is not fixed gets those.
 * `source` names the model and `what` the tool in the error for a non-square size.
 */
export function presetForInputShape(
  shape: readonly (number | string)[] | undefined,
  source: string,
  what: string,
): ClassificationPreset {
  const [, , height, width] = shape ?? [];
  if (typeof height !== 'number' || typeof width !== 'number')
    return { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' };
  if (height !== width) {
    throw new RangeError(
      `${source} takes ${height}x${width} images; ${what} crops squares (torchvision's centre crop): ` +
        'export the model with a square or dynamic input size',
    );
  }
  return { resizeSize: Math.round((height * 256) / 224), cropSize: height, interpolation: 'bilinear' };
}

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

/**
 * torchvision's `center_crop` offset along one axis: `int(round((size - crop) / 2.0))`; for a crop
 * larger than the image, minus the zero padding it adds before the image, `(crop - size) // 2`.
 */
export function centerCropOffset(size: number, crop: number): number {
  return crop > size ? -Math.floor((crop - size) / 2) : roundHalfEven((size - crop) / 2);
}

function int64s(name: string, values: readonly number[]): OnnxInitializer {
  return { name, type: 'int64', dims: [values.length], raw: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) };
}

function int32Scalar(name: string, value: number): OnnxInitializer {
  return { name, type: 'int32', dims: [], raw: new Uint8Array(Int32Array.of(value).buffer) };
}

function floats(name: string, dims: number[], values: readonly number[]): OnnxInitializer {
  return { name, type: 'float32', dims, raw: new Uint8Array(Float32Array.from(values).buffer) };
}

/**
 * The preprocessing graph. Inputs: `image` uint8 [H, W, 3]; `source_rows` int32, the band of
 * image rows the crop reads; `column_taps` int32 [3, crop, taps], the columns each output column
 * reads in each colour plane (plane c's column x is c * W + x); `column_digits` uint8
 * [crop, 3, taps], PIL's fixed-point weights as digits (`weightDigits`); `row_taps` [crop, taps]
 * (counted in the band) and `row_digits` likewise for the vertical pass. Outputs: `input` float32
 * [3, crop, crop] and `pixels` uint8 [crop, crop, 3]. `preprocessInputs` makes the inputs.
 */
export function preprocessGraph(preset: ClassificationPreset): OnnxGraph {
  const crop = preset.cropSize;
  /** PIL's `clip8` after the `1 << 21` start of each sum: (sum + half) >> 22, clamped to 0..255. */
  const clip8 = (sum: string, out: string) => [
    { opType: 'Add', inputs: [sum, 'half'], outputs: [`${out}_rounded`] },
    // Integer Div truncates; it differs from PIL's shift only below zero, which the clamp maps to 0 either way.
    { opType: 'Div', inputs: [`${out}_rounded`, 'one'], outputs: [`${out}_shifted`] },
    { opType: 'Clip', inputs: [`${out}_shifted`, 'zero', 'max_value'], outputs: [out] },
  ];
  /**
   * sum(weight * sample) over the taps, exactly: uint8 samples [..., taps, n] times the weights as
   * three base-256 digits in -128..127 (stored plus 128) [crop, 3, taps], by MatMulInteger, whose
   * int32 sums are exact; the digit sums then combine as (d2 * 256 + d1) * 256 + d0, whose partial
   * values stay within int32 as the weights do.
   */
  const weightedSums = (samples: string, digits: string, out: string) => [
    { opType: 'MatMulInteger', inputs: [digits, samples, 'digit_zero_point'], outputs: [`${out}_digits`] },
    {
      opType: 'Split',
      inputs: [`${out}_digits`],
      outputs: [`${out}_0`, `${out}_1`, `${out}_2`],
      attributes: { axis: -2 },
    },
    { opType: 'Mul', inputs: [`${out}_2`, 'radix'], outputs: [`${out}_2_shifted`] },
    { opType: 'Add', inputs: [`${out}_2_shifted`, `${out}_1`], outputs: [`${out}_21`] },
    { opType: 'Mul', inputs: [`${out}_21`, 'radix'], outputs: [`${out}_21_shifted`] },
    { opType: 'Add', inputs: [`${out}_21_shifted`, `${out}_0`], outputs: [out] },
  ];
  return {
    name: 'featurefx_preprocess',
    nodes: [
      { opType: 'Gather', inputs: ['image', 'source_rows'], outputs: ['rows'], attributes: { axis: 0 } },
      // The band as [3 * W, rows]: each tap then gathers a whole column of one plane at once. Two
      // transposes that each move one axis, which ONNX Runtime does fast; the reshape between
      // them keeps its optimiser from merging them into one general transpose, 20 times slower.
      { opType: 'Transpose', inputs: ['rows'], outputs: ['row_planes'], attributes: { perm: [0, 2, 1] } },
      { opType: 'Reshape', inputs: ['row_planes', 'band_matrix'], outputs: ['band'] },
      { opType: 'Transpose', inputs: ['band'], outputs: ['band_by_column'], attributes: { perm: [1, 0] } },
      // Horizontal pass: [3, crop, taps, rows] samples, weighted and summed over the taps.
      {
        opType: 'Gather',
        inputs: ['band_by_column', 'column_taps'],
        outputs: ['column_samples'],
        attributes: { axis: 0 },
      },
      ...weightedSums('column_samples', 'column_digits', 'column_sums'),
      ...clip8('column_sums', 'wide_columns'),
      { opType: 'Squeeze', inputs: ['wide_columns', 'axis_2'], outputs: ['wide_by_column'] },
      { opType: 'Transpose', inputs: ['wide_by_column'], outputs: ['wide_int'], attributes: { perm: [0, 2, 1] } },
      { opType: 'Cast', inputs: ['wide_int'], outputs: ['wide'], attributes: { to: 2 } },
      // Vertical pass: [3, crop, taps, crop] samples, weighted and summed over the taps.
      { opType: 'Gather', inputs: ['wide', 'row_taps'], outputs: ['row_samples'], attributes: { axis: 1 } },
      ...weightedSums('row_samples', 'row_digits', 'row_sums'),
      ...clip8('row_sums', 'resized_planes'),
      { opType: 'Squeeze', inputs: ['resized_planes', 'axis_2'], outputs: ['resized'] },
      { opType: 'Cast', inputs: ['resized'], outputs: ['chw'], attributes: { to: 2 } },
      { opType: 'Transpose', inputs: ['chw'], outputs: ['pixels'], attributes: { perm: [1, 2, 0] } },
      { opType: 'Cast', inputs: ['resized'], outputs: ['float'], attributes: { to: 1 } },
      // ToTensor divides by 255, Normalize subtracts then divides, all in float32, as torch does.
      { opType: 'Div', inputs: ['float', 'level_count'], outputs: ['scaled'] },
      { opType: 'Sub', inputs: ['scaled', 'mean'], outputs: ['centred'] },
      { opType: 'Div', inputs: ['centred', 'std'], outputs: ['input'] },
    ],
    inputs: [
      { name: 'image', type: 'uint8', shape: ['height', 'width', 3] },
      { name: 'source_rows', type: 'int32', shape: ['source_row_count'] },
      { name: 'column_taps', type: 'int32', shape: [3, crop, 'column_tap_count'] },
      { name: 'column_digits', type: 'uint8', shape: [crop, 3, 'column_tap_count'] },
      { name: 'row_taps', type: 'int32', shape: [crop, 'row_tap_count'] },
      { name: 'row_digits', type: 'uint8', shape: [crop, 3, 'row_tap_count'] },
    ],
    outputs: [
      { name: 'input', type: 'float32', shape: [3, crop, crop] },
      { name: 'pixels', type: 'uint8', shape: [crop, crop, 3] },
    ],
    initializers: [
      int64s('axis_2', [2]),
      int64s('band_matrix', [0, -1]),
      { name: 'digit_zero_point', type: 'uint8', dims: [], raw: Uint8Array.of(DIGIT_ZERO) },
      int32Scalar('radix', 256),
      int32Scalar('half', 2 ** (PRECISION_BITS - 1)),
      int32Scalar('one', 2 ** PRECISION_BITS),
      int32Scalar('zero', 0),
      int32Scalar('max_value', 255),
      floats('level_count', [], [255]),
      floats('mean', [3, 1, 1], preset.mean ?? IMAGENET_MEAN),
      floats('std', [3, 1, 1], preset.std ?? IMAGENET_STD),
    ],
  };
}

/** MatMulInteger's zero point of the weight digits, which are signed but stored unsigned. */
const DIGIT_ZERO = 128;

/**
 * Fixed-point weights [n, taps] as three balanced base-256 digits each [n, 3, taps], lowest first:
 * w = d0 + 256 * d1 + 65536 * d2 with every digit in -128..127 (PIL's weights are under 2^23 in
 * magnitude), stored plus DIGIT_ZERO.
 */
function weightDigits(weights: Int32Array, taps: number): Uint8Array {
  const digits = new Uint8Array(3 * weights.length);
  for (let i = 0; i < weights.length; i++) {
    const [n, k] = [Math.floor(i / taps), i % taps];
    let rest = weights[i]!;
    for (let d = 0; d < 3; d++) {
      const digit = ((((rest + 128) % 256) + 256) % 256) - 128;
      digits[(n * 3 + d) * taps + k] = digit + DIGIT_ZERO;
      rest = (rest - digit) / 256;
    }
  }
  return digits;
}

/** The indices of one plane's columns in all three planes, laid one after the other, each `size` long. */
function planeIndices(indices: Int32Array, size: number): Int32Array {
  const all = new Int32Array(3 * indices.length);
  for (let c = 0; c < 3; c++) {
    all.set(
      indices.map((i) => i + c * size),
      c * indices.length,
    );
  }
  return all;
}

/**
 * The inputs of `preprocessGraph(preset)` for decoded RGB bytes [height, width, 3], in the graph's
 * input order: the image, then PIL's taps and weights of the crop's columns and rows.
 */
export function preprocessInputs(
  preset: ClassificationPreset,
  rgb: Uint8Array,
  width: number,
  height: number,
): RawTensor[] {
  const { resizeSize, cropSize: crop, interpolation } = preset;
  const [h, w] = resizedSize(height, width, resizeSize);
  const columns = resampleTaps(width, w, interpolation, centerCropOffset(w, crop), crop);
  const rows = resampleTaps(height, h, interpolation, centerCropOffset(h, crop), crop);
  // The horizontal pass runs on the source rows the vertical pass reads: a band, as in PIL.
  const first = rows.indices.reduce((a, b) => Math.min(a, b));
  const last = rows.indices.reduce((a, b) => Math.max(a, b));
  const sourceRows = Int32Array.from({ length: last + 1 - first }, (_, i) => first + i);
  const rowTaps = rows.indices.map((y) => y - first);
  return [
    { type: 'uint8', dims: [height, width, 3], data: rgb },
    { type: 'int32', dims: [sourceRows.length], data: sourceRows },
    { type: 'int32', dims: [3, crop, columns.taps], data: planeIndices(columns.indices, width) },
    { type: 'uint8', dims: [crop, 3, columns.taps], data: weightDigits(columns.weights, columns.taps) },
    { type: 'int32', dims: [crop, rows.taps], data: rowTaps },
    { type: 'uint8', dims: [crop, 3, rows.taps], data: weightDigits(rows.weights, rows.taps) },
  ];
}
