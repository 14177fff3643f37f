/**
 * torchvision.ops.poolers (0.14): MultiScaleRoIAlign pools each box from the feature-pyramid level
 * that the FPN paper's heuristic (eq. 1) assigns to its size.
 */
import * as F from '../../ops/functional.js';
import { full, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { Module } from '../module.js';
import { boxArea, wherePositions } from './boxes.js';

/** An image's [height, width]. */
type ImageShape = readonly [number, number];

/**
 * Maps boxes to pyramid levels: floor(canonicalLevel + log2(sqrt(area) / canonicalScale) + eps),
 * clamped to [kMin, kMax], minus kMin. As torchvision's `LevelMapper`.
 */
export class LevelMapper {
  constructor(
    readonly kMin: number,
    readonly kMax: number,
    readonly canonicalScale = 224,
    readonly canonicalLevel = 4,
    readonly eps = 1e-6,
  ) {}

  /** The level (int64, from 0) of each box of all images, in order. */
  call(boxlists: readonly Tensor[]): Tensor {
    const s = F.sqrt(F.cat(boxlists.map(boxArea), 0));
    const targetLvls = F.floor(F.add(F.add(F.log2(F.div(s, this.canonicalScale)), this.canonicalLevel), this.eps));
    const clamped = F.clamp(targetLvls, { min: this.kMin, max: this.kMax });
    return F.sub(F.to(clamped, 'int64'), this.kMin);
  }
}

/** As torchvision's `initLevelMapper`. */
export function initLevelMapper(
  kMin: number,
  kMax: number,
  canonicalScale = 224,
  canonicalLevel = 4,
  eps = 1e-6,
): LevelMapper {
  return new LevelMapper(kMin, kMax, canonicalScale, canonicalLevel, eps);
}

/** Round half to even, as `torch.round`. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The power of two nearest (in log2) to feature size / image size, from the heights, as
 * torchvision's `_infer_scale` (which rounds log2 of the ratio in float32).
 */
export function inferScale(feature: Tensor, originalSize: ImageShape): number {
  const approxScale = Math.fround(feature.shape[feature.ndim - 2]! / originalSize[0]);
  return 2 ** roundHalfEven(Math.fround(Math.log2(approxScale)));
}

/** Each level's scale and the level mapper, from the feature sizes and the largest image size. */
export function setupScales(
  features: readonly Tensor[],
  imageShapes: readonly ImageShape[],
  canonicalScale: number,
  canonicalLevel: number,
): [number[], LevelMapper] {
  if (imageShapes.length === 0) {
    throw new RangeError('[MultiScaleRoIAlign] images list should not be empty; give each image its [height, width]');
  }
  const originalInputShape: ImageShape = [
    Math.max(0, ...imageShapes.map((s) => s[0])),
    Math.max(0, ...imageShapes.map((s) => s[1])),
  ];
  const scales = features.map((feat) => inferScale(feat, originalInputShape));
  const lvlMin = -Math.log2(scales[0]!);
  const lvlMax = -Math.log2(scales[scales.length - 1]!);
  return [scales, initLevelMapper(Math.trunc(lvlMin), Math.trunc(lvlMax), canonicalScale, canonicalLevel)];
}

/** The maps of `x` whose names are in `featmapNames`, in `x`'s order. */
export function filterInput(x: Record<string, Tensor>, featmapNames: readonly string[]): Tensor[] {
  return Object.entries(x)
    .filter(([k]) => featmapNames.includes(k))
    .map(([, v]) => v);
}

/** Boxes of all images as [K, 5] rows (image index, x1, y1, x2, y2), as `_convert_to_roi_format`. */
export function convertToRoiFormat(boxes: readonly Tensor[]): Tensor {
  const concatBoxes = F.cat([...boxes], 0);
  const ids = F.cat(
    boxes.map((b, i) => full([b.shape[0]!, 1], i, { dtype: concatBoxes.dtype })),
    0,
  );
  return F.cat([ids, concatBoxes], 1);
}

/**
 * RoIAlign of each box on its level, the results in the boxes' order, as torchvision's
 * `_multiscale_roi_align`.
 */
export function multiscaleRoiAlign(
  xFiltered: readonly Tensor[],
  boxes: readonly Tensor[],
  outputSize: readonly [number, number],
  samplingRatio: number,
  scales: readonly number[],
  mapper: LevelMapper,
): Tensor {
  const rois = convertToRoiFormat(boxes);
  const options = (scale: number) => ({ spatialScale: scale, samplingRatio });
  if (xFiltered.length === 1) return F.roiAlign(xFiltered[0]!, rois, outputSize, options(scales[0]!));

  const levels = mapper.call(boxes);
  const numRois = rois.shape[0]!;
  const first = xFiltered[0]!;
  if (numRois === 0) return zeros([0, first.shape[1]!, ...outputSize], { dtype: first.dtype });
  const indices: Tensor[] = [];
  const results: Tensor[] = [];
  xFiltered.forEach((perLevelFeature, level) => {
    const idxInLevel = wherePositions(F.eq(levels, level));
    // A level without boxes adds nothing to the result (torchvision pools no boxes there).
    if (idxInLevel.shape[0] === 0) return;
    const roisPerLevel = F.indexSelect(rois, 0, idxInLevel);
    indices.push(idxInLevel);
    results.push(F.roiAlign(perLevelFeature, roisPerLevel, outputSize, options(scales[level]!)));
  });
  // All boxes on one level: its result is in the boxes' order already.
  if (results.length === 1) return results[0]!;
  // result[idx_in_level] = ...: the levels' results put back in the boxes' order by the inverse
  // of the permutation that grouped them by level (an argsort of the concatenated indices).
  const grouped = F.cat(indices, 0);
  const [, inverse] = F.topk(grouped, numRois, { largest: false });
  return F.indexSelect(F.cat(results, 0), 0, inverse);
}

export interface MultiScaleRoIAlignOptions {
  /** The box size pooled from `canonicalLevel` (224, the FPN paper's). */
  canonicalScale?: number;
  /** The level for boxes of `canonicalScale` (4, the FPN paper's k0). */
  canonicalLevel?: number;
}

/**
 * Multi-scale RoIAlign, as `torchvision.ops.MultiScaleRoIAlign`: pools each box (in image
 * coordinates) from the feature map its size maps to, with scales inferred from the feature and
 * image sizes on the first call.
 * @example
 * const pooler = new nn.MultiScaleRoIAlign(['0', '1'], 7, 2);
 * const features = { '0': rand([1, 8, 32, 32]), '1': rand([1, 8, 16, 16]) };
 * pooler.call(features, [tensor([[4, 4, 60, 40]])], [[128, 128]]); // [1, 8, 7, 7]
 */
export class MultiScaleRoIAlign extends Module<[Record<string, Tensor>, Tensor[], ImageShape[]], Tensor> {
  readonly featmapNames: string[];
  readonly outputSize: [number, number];
  readonly samplingRatio: number;
  readonly canonicalScale: number;
  readonly canonicalLevel: number;
  scales: number[] | null = null;
  mapLevels: LevelMapper | null = null;

  constructor(
    featmapNames: readonly string[],
    outputSize: number | readonly [number, number],
    samplingRatio: number,
    options: MultiScaleRoIAlignOptions = {},
  ) {
    super();
    this.featmapNames = [...featmapNames];
    this.outputSize = typeof outputSize === 'number' ? [outputSize, outputSize] : [outputSize[0], outputSize[1]];
    this.samplingRatio = samplingRatio;
    this.canonicalScale = options.canonicalScale ?? 224;
    this.canonicalLevel = options.canonicalLevel ?? 4;
  }

  forward(x: Record<string, Tensor>, boxes: Tensor[], imageShapes: ImageShape[]): Tensor {
    const xFiltered = filterInput(x, this.featmapNames);
    if (this.scales === null || this.mapLevels === null) {
      [this.scales, this.mapLevels] = setupScales(xFiltered, imageShapes, this.canonicalScale, this.canonicalLevel);
    }
    return multiscaleRoiAlign(xFiltered, boxes, this.outputSize, this.samplingRatio, this.scales, this.mapLevels);
  }

  override extraRepr(): string {
    const names = this.featmapNames.map((n) => `'${n}'`).join(', ');
    return `featmap_names=[${names}], output_size=(${this.outputSize.join(', ')}), sampling_ratio=${this.samplingRatio}`;
  }
}
