import type { GraphModule } from '../fx/graph-module.js';
import { ShapeProp } from '../fx/passes/shape-prop.js';
import type { DType } from '../tensor/dtype.js';
import type { TensorMeta } from '../tensor/tensor.js';

/**
 * How an output's axes are laid out: feature maps channels-first (CNNs) or channels-last (Swin),
 * tokens (ViT: batch, tokens, channels), vectors (a classifier's logits), or none of these.
 */
export type FeatureLayout = 'NCHW' | 'NHWC' | 'NLC' | 'NC' | 'other';

export interface FeatureInfo {
  /** The output key. */
  key: string;
  shape: number[];
  dtype: DType;
  layout: FeatureLayout;
  /** Channels (the C of the layout), as timm's `feature_info.channels()`. */
  channels: number | undefined;
  /**
   * Input width over the output's width (of its patch grid for tokens), as timm's `reduction()`;
   * undefined for vectors.
   */
  reduction: number | undefined;
  /** Tokens before the patch grid ('NLC': ViT's class token), 0 for other layouts. */
  prefixTokens: number;
  /** Height and width of the map, or of the patch grid of tokens; undefined for other layouts. */
  spatial: [number, number] | undefined;
  /**
   * The shape in the input's sizes N, H and W, as far as it follows them:
   * `['N', 256, 'H/8', 'W/8']`, ViT's `['N', '1+(H/16)*(W/16)', 768]`.
   */
  symbolicShape: (number | string)[];
}

export interface FeatureInfoOptions {
  /** The input shape, NCHW. */
  inputShape: readonly number[];
  dtype?: DType;
}

/** Outputs as metadata by key: a dict's entries, or 'output' for a single tensor. */
function outputMetas(module: GraphModule, inputShape: readonly number[], dtype: DType): [string, TensorMeta][] {
  const output = new ShapeProp(module, module.graph).propagate({ dtype, shape: [...inputShape] });
  const entries: [string, unknown][] =
    typeof output === 'object' && output !== null && !('shape' in output)
      ? Object.entries(output)
      : [['output', output]];
  return entries as [string, TensorMeta][];
}

/** `size` in terms of an input size called `name` that it is `1/reduction` of. */
function scaled(name: string, reduction: number): string {
  return reduction === 1 ? name : `${name}/${reduction}`;
}

/** The layout of one output, from how its axes follow a doubled input size (when the model allows one). */
function layoutOf(
  shape: readonly number[],
  doubled: readonly number[] | undefined,
  h: number,
  w: number,
): FeatureLayout {
  const grows = (axis: number): boolean => doubled !== undefined && doubled[axis]! > shape[axis]!;
  const divides = (size: number, input: number): boolean => size > 0 && Number.isInteger(input / size);
  switch (shape.length) {
    case 4:
      if (grows(2) && grows(3)) return 'NCHW';
      if (grows(1) && grows(2)) return 'NHWC';
      // The model takes one size only (ViT), or the map does not follow it (a pooled 1×1): the
      // axes that divide the input's sizes alike.
      if (divides(shape[2]!, h) && h / shape[2]! === w / shape[3]!) return 'NCHW';
      return divides(shape[1]!, h) && h / shape[1]! === w / shape[2]! ? 'NHWC' : 'other';
    case 3:
      return doubled === undefined || grows(1) ? 'NLC' : 'other';
    case 2:
      return 'NC';
    default:
      return 'other';
  }
}

/** For tokens: the patch grid's reduction and the tokens before it, if the count fits one. */
function tokenGrid(tokens: number, h: number, w: number): { reduction: number; prefix: number } | undefined {
  for (let prefix = 0; prefix <= 8; prefix++) {
    const grid = tokens - prefix;
    const reduction = Math.sqrt((h * w) / grid);
    if (grid > 0 && Number.isInteger(reduction) && h % reduction === 0 && w % reduction === 0) {
      return { reduction, prefix };
    }
  }
  return undefined;
}

function describe(
  key: string,
  meta: TensorMeta,
  doubled: readonly number[] | undefined,
  input: readonly number[],
): FeatureInfo {
  const shape = [...meta.shape];
  const [h, w] = input.length === 4 ? [input[2]!, input[3]!] : [NaN, NaN];
  let layout = input.length === 4 ? layoutOf(shape, doubled, h, w) : shape.length === 2 ? 'NC' : 'other';
  const base = { key, shape, dtype: meta.dtype, prefixTokens: 0, spatial: undefined };
  if (layout === 'NLC') {
    const grid = tokenGrid(shape[1]!, h, w);
    if (grid !== undefined) {
      const tokens = `(${scaled('H', grid.reduction)})*(${scaled('W', grid.reduction)})`;
      return {
        ...base,
        layout,
        channels: shape[2],
        reduction: grid.reduction,
        prefixTokens: grid.prefix,
        spatial: [h / grid.reduction, w / grid.reduction],
        symbolicShape: ['N', grid.prefix === 0 ? tokens : `${grid.prefix}+${tokens}`, shape[2]!],
      };
    }
    layout = 'other';
  }
  if (layout === 'NCHW' || layout === 'NHWC') {
    const [c, hAxis] = layout === 'NCHW' ? [1, 2] : [3, 1];
    const reduction = w / shape[hAxis + 1]!;
    const symbolic: (number | string)[] = ['N', ...shape.slice(1)];
    if (Number.isInteger(reduction) && h / shape[hAxis]! === reduction) {
      symbolic[hAxis] = scaled('H', reduction);
      symbolic[hAxis + 1] = scaled('W', reduction);
    }
    const spatial: [number, number] = [shape[hAxis]!, shape[hAxis + 1]!];
    return { ...base, layout, channels: shape[c], reduction, spatial, symbolicShape: symbolic };
  }
  return {
    ...base,
    layout,
    channels: shape.length >= 2 ? shape[layout === 'NC' ? 1 : shape.length - 1] : undefined,
    reduction: undefined,
    symbolicShape: ['N', ...shape.slice(1)],
  };
}

/**
 * Shape, layout, channels and stride of every output of a feature extractor (or any graph module
 * returning a dict of tensors) for an input shape, computed by shape propagation: no convolution
 * runs. The layout comes from how each output follows a doubled input size, where the model takes
 * one; else from the sizes alone. Beyond torchvision; like timm's `feature_info`.
 *
 * @example
 * featureInfo(createFeatureExtractor(resnet18(), { returnNodes: ['layer1'] }), { inputShape: [1, 3, 224, 224] });
 * // [{ key: 'layer1', shape: [1, 64, 56, 56], layout: 'NCHW', channels: 64, reduction: 4, spatial: [56, 56],
 * //    symbolicShape: ['N', 64, 'H/4', 'W/4'], prefixTokens: 0, dtype: 'float32' }]
 */
export function featureInfo(module: GraphModule, options: FeatureInfoOptions): FeatureInfo[] {
  const dtype = options.dtype ?? 'float32';
  const input = options.inputShape;
  const outputs = outputMetas(module, input, dtype);
  let doubled: Map<string, readonly number[]> | undefined;
  if (input.length === 4) {
    try {
      doubled = new Map(
        outputMetas(module, [input[0]!, input[1]!, 2 * input[2]!, 2 * input[3]!], dtype).map(([k, m]) => [k, m.shape]),
      );
    } catch {
      // The model takes this size only (a ViT's position embedding): the sizes alone decide.
    }
  }
  return outputs.map(([key, meta]) => describe(key, meta, doubled?.get(key), input));
}
