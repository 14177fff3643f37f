/**
 * An ONNX file as the model of `featurefx extract`: its nodes by featurefx-style names, its
 * preprocessing from its input's declared size (ImageNet's resize 256 / crop 224 when the size is
 * not fixed), and a batch run through the file pruned to the requested nodes.
 */
import { OnnxModel } from '../onnx/onnx-model.js';
import type { Tensor } from '../tensor/tensor.js';
import { presetForInputShape } from '../preprocess/image-classification.js';
import type { Preset } from './images.js';

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
  return {
    preset: presetForInputShape(inputs[0]!.shape, path, 'featurefx extract'),
    run: (batch) => extractor.call(batch),
  };
}
