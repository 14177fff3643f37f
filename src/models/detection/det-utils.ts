/**
 * torchvision.models.detection._utils (0.14): the box coder, the matcher and the balanced sampler
 * that the RPN and the RoI heads share.
 */
import { wherePositions } from '../../nn/vision-ops/boxes.js';
import * as F from '../../ops/functional.js';
import { ones, tensor, zeros } from '../../tensor/creation.js';
import { type Generator, defaultGenerator } from '../../tensor/generator.js';
import type { Tensor } from '../../tensor/tensor.js';

const { slice } = F;

/** Column `i` of [N, 4] boxes as an [N, 1] column, as `boxes[:, i].unsqueeze(1)`. */
function columnOf(boxes: Tensor, i: number): Tensor {
  return F.unsqueeze(F.getitem(boxes, [slice(), i]), 1);
}

/**
 * Encodes `proposals` relative to `referenceBoxes` (both [N, 4]) as (dx, dy, dw, dh) scaled by
 * `weights`, as torchvision's `encode_boxes`.
 */
export function encodeBoxes(
  referenceBoxes: Tensor,
  proposals: Tensor,
  weights: readonly [number, number, number, number],
): Tensor {
  const [wx, wy, ww, wh] = weights;
  const exWidths = F.sub(columnOf(proposals, 2), columnOf(proposals, 0));
  const exHeights = F.sub(columnOf(proposals, 3), columnOf(proposals, 1));
  const exCtrX = F.add(columnOf(proposals, 0), F.mul(exWidths, 0.5));
  const exCtrY = F.add(columnOf(proposals, 1), F.mul(exHeights, 0.5));

  const gtWidths = F.sub(columnOf(referenceBoxes, 2), columnOf(referenceBoxes, 0));
  const gtHeights = F.sub(columnOf(referenceBoxes, 3), columnOf(referenceBoxes, 1));
  const gtCtrX = F.add(columnOf(referenceBoxes, 0), F.mul(gtWidths, 0.5));
  const gtCtrY = F.add(columnOf(referenceBoxes, 1), F.mul(gtHeights, 0.5));

  const targetsDx = F.div(F.mul(F.sub(gtCtrX, exCtrX), wx), exWidths);
  const targetsDy = F.div(F.mul(F.sub(gtCtrY, exCtrY), wy), exHeights);
  const targetsDw = F.mul(F.log(F.div(gtWidths, exWidths)), ww);
  const targetsDh = F.mul(F.log(F.div(gtHeights, exHeights)), wh);
  return F.cat([targetsDx, targetsDy, targetsDw, targetsDh], 1);
}

/**
 * Encodes boxes into the regression targets of the detection heads and decodes predictions back,
 * as torchvision's `BoxCoder`: `new BoxCoder([1, 1, 1, 1]).decode(deltas, [anchors])` gives [N, 1, 4]
 * boxes. Like torchvision's `_utils`, this file is internal to the detection models.
 */
export class BoxCoder {
  /** Limits dw and dh before `exp`: log(1000 / 16), torchvision's default. */
  static readonly DEFAULT_BBOX_XFORM_CLIP = Math.log(1000 / 16);

  constructor(
    readonly weights: readonly [number, number, number, number],
    readonly bboxXformClip: number = BoxCoder.DEFAULT_BBOX_XFORM_CLIP,
  ) {}

  /** The targets of each image's `proposals` relative to its `referenceBoxes`, one tensor per image. */
  encode(referenceBoxes: readonly Tensor[], proposals: readonly Tensor[]): Tensor[] {
    const boxesPerImage = referenceBoxes.map((b) => b.shape[0]!);
    const targets = this.encodeSingle(F.cat([...referenceBoxes], 0), F.cat([...proposals], 0));
    return [...F.split(targets, boxesPerImage, 0)];
  }

  encodeSingle(referenceBoxes: Tensor, proposals: Tensor): Tensor {
    return encodeBoxes(referenceBoxes, proposals, this.weights);
  }

  /** The boxes [sum of N_i, K, 4] that `relCodes` (4 numbers per box and class) make of each image's `boxes`. */
  decode(relCodes: Tensor, boxes: readonly Tensor[]): Tensor {
    const boxSum = boxes.reduce((sum, b) => sum + b.shape[0]!, 0);
    const concatBoxes = F.cat([...boxes], 0);
    const codes = boxSum > 0 ? F.reshape(relCodes, [boxSum, -1]) : relCodes;
    const predBoxes = this.decodeSingle(codes, concatBoxes);
    return boxSum > 0 ? F.reshape(predBoxes, [boxSum, -1, 4]) : predBoxes;
  }

  /** The boxes [N, 4K] that `relCodes` [N, 4K] make of reference `boxes` [N, 4]. */
  decodeSingle(relCodes: Tensor, boxes: Tensor): Tensor {
    const ref = F.to(boxes, relCodes.dtype);
    const widths = F.sub(F.getitem(ref, [slice(), 2]), F.getitem(ref, [slice(), 0]));
    const heights = F.sub(F.getitem(ref, [slice(), 3]), F.getitem(ref, [slice(), 1]));
    const ctrX = F.add(F.getitem(ref, [slice(), 0]), F.mul(widths, 0.5));
    const ctrY = F.add(F.getitem(ref, [slice(), 1]), F.mul(heights, 0.5));

    const [wx, wy, ww, wh] = this.weights;
    const dx = F.div(F.getitem(relCodes, [slice(), slice(0, null, 4)]), wx);
    const dy = F.div(F.getitem(relCodes, [slice(), slice(1, null, 4)]), wy);
    // Prevent sending too large values into exp.
    const dw = F.clamp(F.div(F.getitem(relCodes, [slice(), slice(2, null, 4)]), ww), { max: this.bboxXformClip });
    const dh = F.clamp(F.div(F.getitem(relCodes, [slice(), slice(3, null, 4)]), wh), { max: this.bboxXformClip });

    const predCtrX = F.add(F.mul(dx, F.unsqueeze(widths, 1)), F.unsqueeze(ctrX, 1));
    const predCtrY = F.add(F.mul(dy, F.unsqueeze(heights, 1)), F.unsqueeze(ctrY, 1));
    const predW = F.mul(F.exp(dw), F.unsqueeze(widths, 1));
    const predH = F.mul(F.exp(dh), F.unsqueeze(heights, 1));
    // Distance from the centre to the box's corner.
    const cToCH = F.mul(predH, 0.5);
    const cToCW = F.mul(predW, 0.5);
    const corners = [F.sub(predCtrX, cToCW), F.sub(predCtrY, cToCH), F.add(predCtrX, cToCW), F.add(predCtrY, cToCH)];
    return F.flatten(F.stack(corners, 2), 1);
  }
}

/**
 * Assigns to each prediction (column of an M×N quality matrix, e.g. IoUs of M ground-truth boxes
 * with N predictions) the index of its best ground truth, or BELOW_LOW_THRESHOLD (-1) /
 * BETWEEN_THRESHOLDS (-2), as torchvision's `Matcher`: `new Matcher(0.7, 0.3, true).call(boxIou(gt,
 * anchors))` gives int64 [N].
 */
export class Matcher {
  static readonly BELOW_LOW_THRESHOLD = -1;
  static readonly BETWEEN_THRESHOLDS = -2;
  readonly BELOW_LOW_THRESHOLD = Matcher.BELOW_LOW_THRESHOLD;
  readonly BETWEEN_THRESHOLDS = Matcher.BETWEEN_THRESHOLDS;

  constructor(
    readonly highThreshold: number,
    readonly lowThreshold: number,
    readonly allowLowQualityMatches = false,
  ) {
    if (!(lowThreshold <= highThreshold)) {
      throw new RangeError(
        `[Matcher] low_threshold should be <= high_threshold, got lowThreshold=${lowThreshold} and ` +
          `highThreshold=${highThreshold}; swap them`,
      );
    }
  }

  call(matchQualityMatrix: Tensor): Tensor {
    if (matchQualityMatrix.numel() === 0) {
      // Empty targets or proposals are not supported during training.
      if (matchQualityMatrix.shape[0] === 0) {
        throw new RangeError(
          '[Matcher] No ground-truth boxes available for one of the images during training; ' +
            'give every training image at least one box',
        );
      }
      throw new RangeError('[Matcher] No proposal boxes available for one of the images during training');
    }
    // Best ground truth (dim 0) for each prediction.
    const matchedVals = F.amax(matchQualityMatrix, 0);
    const allMatches = F.argmax(matchQualityMatrix, 0);
    const belowLowThreshold = F.lt(matchedVals, this.lowThreshold);
    const betweenThresholds = F.logicalAnd(F.ge(matchedVals, this.lowThreshold), F.lt(matchedVals, this.highThreshold));
    let matches = F.where(belowLowThreshold, this.BELOW_LOW_THRESHOLD, allMatches);
    matches = F.where(betweenThresholds, this.BETWEEN_THRESHOLDS, matches);
    if (this.allowLowQualityMatches) matches = this.setLowQualityMatches(matches, allMatches, matchQualityMatrix);
    return matches;
  }

  /**
   * Gives back their best ground truth to the predictions that are some ground truth's best
   * match (ties included), even below the thresholds, as `set_low_quality_matches_`.
   */
  setLowQualityMatches(matches: Tensor, allMatches: Tensor, matchQualityMatrix: Tensor): Tensor {
    const highestQualityForeachGt = F.amax(matchQualityMatrix, 1);
    const isHighest = F.eq(matchQualityMatrix, F.unsqueeze(highestQualityForeachGt, 1));
    // matches[pred_inds_to_update] = all_matches[pred_inds_to_update], as a mask over predictions.
    const toUpdate = F.gt(F.sum(F.to(isHighest, 'float32'), 0), 0);
    return F.where(toUpdate, allMatches, matches);
  }
}

/** A random permutation of 0..n-1 (int64), as `torch.randperm`, drawn from `generator`. */
export function randperm(n: number, generator: Generator = defaultGenerator): Tensor {
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(generator.uniform() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return tensor(perm, { dtype: 'int64' });
}

/** A uint8 mask of `length` with ones at `indices`. */
function maskOf(indices: Tensor, length: number): Tensor {
  const marks = F.scatterAdd(zeros([length]), 0, indices, ones([indices.shape[0]!]));
  return F.to(marks, 'uint8');
}

/**
 * Samples up to `batchSizePerImage` elements per image with at most `positiveFraction` of
 * positives (matched index >= 1; 0 is negative, -1 ignored), as torchvision's
 * `BalancedPositiveNegativeSampler`. Returns uint8 masks per image: [positives, negatives].
 */
export class BalancedPositiveNegativeSampler {
  constructor(
    readonly batchSizePerImage: number,
    readonly positiveFraction: number,
    readonly generator: Generator = defaultGenerator,
  ) {}

  call(matchedIdxs: readonly Tensor[]): [Tensor[], Tensor[]] {
    const posIdx: Tensor[] = [];
    const negIdx: Tensor[] = [];
    for (const matchedIdxsPerImage of matchedIdxs) {
      const positive = wherePositions(F.ge(matchedIdxsPerImage, 1));
      const negative = wherePositions(F.eq(matchedIdxsPerImage, 0));
      // Protect against too few positives, then too few negatives.
      const numPos = Math.min(positive.numel(), Math.trunc(this.batchSizePerImage * this.positiveFraction));
      const numNeg = Math.min(negative.numel(), this.batchSizePerImage - numPos);
      const perm1 = F.getitem(randperm(positive.numel(), this.generator), slice(null, numPos));
      const perm2 = F.getitem(randperm(negative.numel(), this.generator), slice(null, numNeg));
      const length = matchedIdxsPerImage.shape[0]!;
      posIdx.push(maskOf(F.indexSelect(positive, 0, perm1), length));
      negIdx.push(maskOf(F.indexSelect(negative, 0, perm2), length));
    }
    return [posIdx, negIdx];
  }
}
