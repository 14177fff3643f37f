/**
 * An ONNX file as the model of `featurefx extract`: its nodes by featurefx-style names, its
 * preprocessing from its input's declared size (ImageNet's resize 256 / crop 224 when the size is
 * not fixed), and a batch run through the file pruned to the requested nodes.
 */
import { OnnxModel } from '../onnx/onnx-model.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Preset } from './images.js';

/** torchvision's ImageNet classification preset; a fixed crop S resizes to S / 0.875, as 224 does to 256. */
const IMAGENET_PRESET: Preset = { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' };
const CROP_FRACTION = 224 / 256;

export interface OnnxSource {
  preset: Preset;
  /** Runs a batch [n, 3, crop, crop] through the file pruned to the nodes asked for. */
  run(batch: Tensor): Record<string, Tensor>;
}

/**
 * Reads `path` and checks `nodes` (node -> output key) against its names, so that a mistyped node is
 * refused before any output is written.
 */
export async function loadOnnxSource(path: string, nodes: Record<string, string>): Promise<OnnxSource> {
  const model = await OnnxModel.load(path);
  const extractor = model.featureExtractor(nodes);
  const inputs = model.inputs();
  if (inputs.length !== 1) {
    throw new RangeError(
      `${path} has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); featurefx extract feeds ` +
        'one image batch [n, 3, H, W]: use OnnxModel.run with a record of inputs from JavaScript instead',
    );
  }
  return { preset: presetFor(path, inputs[0]!.shape), run: (batch) => extractor.call(batch) };
}

/** The crop the input's fixed height and width ask for, or ImageNet's preset when they are not fixed. */
function presetFor(path: string, shape: (number | string)[] | undefined): Preset {
  const [, , height, width] = shape ?? [];
  if (typeof height !== 'number' || typeof width !== 'number') return IMAGENET_PRESET;
  if (height !== width) {
    throw new RangeError(
      `${path} takes ${height}x${width} images; featurefx extract crops squares (torchvision's centre crop): ` +
        'export the model with a square or dynamic input size',
    );
  }
  return { ...IMAGENET_PRESET, cropSize: height, resizeSize: Math.round(height / CROP_FRACTION) };
}
