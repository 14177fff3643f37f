import type { GraphModule } from '../fx/graph-module.js';
import { ShapeProp } from '../fx/passes/shape-prop.js';
import type { DType } from '../tensor/dtype.js';
import type { TensorMeta } from '../tensor/tensor.js';

export interface FeatureInfo {
  /** The output key. */
  key: string;
  shape: number[];
  dtype: DType;
  /** Channels (dimension 1), as timm's `feature_info.channels()`. */
  channels: number | undefined;
  /** Input size divided by the output's spatial size (4-D outputs only), as timm's `reduction()`. */
  reduction: number | undefined;
}

export interface FeatureInfoOptions {
  /** The input shape, NCHW. */
  inputShape: readonly number[];
  dtype?: DType;
}

/**
 * Shape, channels and stride of every output of a feature extractor (or any graph module
 * returning a dict of tensors) for an input shape, computed by shape propagation: no convolution
 * runs. Beyond torchvision; like timm's `feature_info`.
 *
 * @example
 * featureInfo(createFeatureExtractor(resnet18(), { returnNodes: ['layer1'] }), { inputShape: [1, 3, 224, 224] });
 * // [{ key: 'layer1', shape: [1, 64, 56, 56], channels: 64, reduction: 4, dtype: 'float32' }]
 */
export function featureInfo(module: GraphModule, options: FeatureInfoOptions): FeatureInfo[] {
  const input: TensorMeta = { dtype: options.dtype ?? 'float32', shape: [...options.inputShape] };
  const output = new ShapeProp(module, module.graph).propagate(input);
  const entries: [string, unknown][] =
    typeof output === 'object' && output !== null && !('shape' in output)
      ? Object.entries(output)
      : [['output', output]];
  return entries.map(([key, value]) => {
    const meta = value as TensorMeta;
    const shape = [...meta.shape];
    const spatial = shape.length === 4 && options.inputShape.length === 4;
    return {
      key,
      shape,
      dtype: meta.dtype,
      channels: shape.length >= 2 ? shape[1] : undefined,
      reduction: spatial ? options.inputShape[3]! / shape[3]! : undefined,
    };
  });
}
