/**
 * torchvision 0.14's models/detection/roi_heads.py, box and mask branches (no keypoints): RoI
 * features pooled for each proposal become class scores, per-class boxes and masks; in training
 * mode, proposals are matched to the ground truth and sampled for the losses. It runs eagerly,
 * every numeric step an op, in torchvision's order.
 */
import { Module } from '../../nn/module.js';
import { batchedNms, boxIou, clipBoxesToImage, removeSmallBoxes, wherePositions } from '../../nn/vision-ops/boxes.js';
import * as F from '../../ops/functional.js';
import { zeros } from '../../tensor/creation.js';
import { isFloating } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BalancedPositiveNegativeSampler, BoxCoder, Matcher } from './det-utils.js';
import type { ImageSize } from './image-list.js';
import type { Detection, DetectionLosses, DetectionTarget } from './types.js';

const { slice } = F;

/** Pools features [K, C, h, w] for boxes in image coordinates, as `MultiScaleRoIAlign`. */
export type RoIPool = Module<[Record<string, Tensor>, Tensor[], ImageSize[]], Tensor>;

/** `x[rows, columns]` for a [N, C, ...] tensor and two int64 [K] indices: [K, ...]. */
function pickPerRow(x: Tensor, rows: Tensor, columns: Tensor): Tensor {
  const [n, c] = x.shape as [number, number];
  const flat = F.reshape(x, [n * c, ...x.shape.slice(2)]);
  return F.getitem(flat, F.add(F.mul(rows, c), columns));
}

/**
 * The Fast R-CNN losses: cross entropy of the class logits over all sampled proposals, and smooth
 * L1 (beta 1/9, summed, divided by the number of proposals) of the box deltas of each positive
 * proposal's ground-truth class, as torchvision's `fastrcnn_loss`.
 */
export function fastrcnnLoss(
  classLogits: Tensor,
  boxRegression: Tensor,
  labels: readonly Tensor[],
  regressionTargets: readonly Tensor[],
): [Tensor, Tensor] {
  const allLabels = F.cat([...labels], 0);
  const allRegressionTargets = F.cat([...regressionTargets], 0);
  const classificationLoss = F.crossEntropy(classLogits, allLabels);

  // The positive proposals, and the deltas predicted for their ground-truth class.
  const sampledPosIndsSubset = wherePositions(F.gt(allLabels, 0));
  const labelsPos = F.getitem(allLabels, sampledPosIndsSubset);
  const n = classLogits.shape[0]!;
  const deltas = F.reshape(boxRegression, [n, Math.floor(boxRegression.shape[boxRegression.ndim - 1]! / 4), 4]);
  const boxLoss = F.smoothL1Loss(
    pickPerRow(deltas, sampledPosIndsSubset, labelsPos),
    F.getitem(allRegressionTargets, sampledPosIndsSubset),
    { beta: 1 / 9, reduction: 'sum' },
  );
  return [classificationLoss, F.div(boxLoss, allLabels.numel())];
}

/**
 * Each detection's mask probabilities for its predicted class, [K_i, 1, M, M] per image, from the
 * mask logits [sum of K_i, classes, M, M], as torchvision's `maskrcnn_inference`.
 */
export function maskrcnnInference(x: Tensor, labels: readonly Tensor[]): Tensor[] {
  const maskProb = F.sigmoid(x);
  const numMasks = x.shape[0]!;
  const boxesPerImage = labels.map((label) => label.shape[0]!);
  const index = F.arange(numMasks);
  const selected = F.unsqueeze(pickPerRow(maskProb, index, F.cat([...labels], 0)), 1);
  return [...F.split(selected, boxesPerImage, 0)];
}

/**
 * The ground-truth masks [N, H, W] cropped to `boxes` [K, 4] (of the ground truth `matchedIdxs`
 * [K]) and resized to M x M by RoIAlign, as torchvision's `project_masks_on_boxes`: [K, M, M].
 */
export function projectMasksOnBoxes(gtMasks: Tensor, boxes: Tensor, matchedIdxs: Tensor, m: number): Tensor {
  const batchIndex = F.to(matchedIdxs, boxes.dtype);
  const rois = F.cat([F.unsqueeze(batchIndex, 1), boxes], 1);
  const masks = F.to(F.unsqueeze(gtMasks, 1), rois.dtype);
  return F.getitem(F.roiAlign(masks, rois, [m, m], { spatialScale: 1 }), [slice(), 0]);
}

/**
 * Binary cross entropy between each positive proposal's mask logits for its ground-truth class
 * and the ground-truth mask projected on the proposal, as torchvision's `maskrcnn_loss`.
 */
export function maskrcnnLoss(
  maskLogits: Tensor,
  proposals: readonly Tensor[],
  gtMasks: readonly Tensor[],
  gtLabels: readonly Tensor[],
  maskMatchedIdxs: readonly Tensor[],
): Tensor {
  const discretizationSize = maskLogits.shape[maskLogits.ndim - 1]!;
  const labels = F.cat(
    gtLabels.map((gtLabel, i) => F.getitem(gtLabel, maskMatchedIdxs[i]!)),
    0,
  );
  const maskTargets = F.cat(
    gtMasks.map((m, i) => projectMasksOnBoxes(m, proposals[i]!, maskMatchedIdxs[i]!, discretizationSize)),
    0,
  );
  // The mean of no elements would be NaN: no positive proposal gives a zero loss instead.
  if (maskTargets.numel() === 0) return F.mul(F.sum(maskLogits), 0);
  const selected = pickPerRow(maskLogits, F.arange(labels.shape[0]!), labels);
  return F.binaryCrossEntropyWithLogits(selected, maskTargets);
}

export interface RoIHeadsOptions {
  /** Minimum IoU with a ground-truth box for a positive proposal in training. */
  fgIouThresh: number;
  /** Maximum IoU with every ground-truth box for a background proposal in training. */
  bgIouThresh: number;
  /** Proposals sampled per image for the training losses. */
  batchSizePerImage: number;
  /** Proportion of positives in those samples. */
  positiveFraction: number;
  /** The box coder's weights; default (10, 10, 5, 5). */
  bboxRegWeights?: readonly [number, number, number, number] | null;
  /** Detections with a lower class score are dropped. */
  scoreThresh: number;
  /** NMS threshold, applied per class. */
  nmsThresh: number;
  /** Detections kept per image, best first. */
  detectionsPerImg: number;
  maskRoiPool?: RoIPool | null;
  maskHead?: Module<[Tensor], Tensor> | null;
  maskPredictor?: Module<[Tensor], Tensor> | null;
}

/**
 * The RoI heads of Faster and Mask R-CNN, as torchvision's `RoIHeads`: eval mode gives each
 * image's detections `{ boxes, labels, scores, masks? }` in the coordinates of the (resized)
 * image; training mode, given targets, gives `loss_classifier`, `loss_box_reg` and `loss_mask`.
 * The mask branch runs when `mask_roi_pool`, `mask_head` and `mask_predictor` are all set.
 * @example
 * const heads = new RoIHeads(new nn.MultiScaleRoIAlign(['0'], 7, 2), new TwoMLPHead(256 * 49, 1024),
 *   new FastRCNNPredictor(1024, 91), { fgIouThresh: 0.5, bgIouThresh: 0.5, batchSizePerImage: 512,
 *   positiveFraction: 0.25, scoreThresh: 0.05, nmsThresh: 0.5, detectionsPerImg: 100 });
 * const features = { '0': randn([1, 256, 16, 16]) };
 * const proposals = [tensor([[0, 0, 32, 32], [8, 8, 60, 40]])];
 * const [detections] = heads.eval().call(features, proposals, [[64, 64]]); // boxes, labels, scores
 */
export class RoIHeads extends Module<
  [Record<string, Tensor>, Tensor[], ImageSize[], (DetectionTarget[] | null)?],
  [Detection[], DetectionLosses]
> {
  box_roi_pool: RoIPool;
  box_head: Module<[Tensor], Tensor>;
  box_predictor: Module<[Tensor], [Tensor, Tensor]>;
  mask_roi_pool: RoIPool | null;
  mask_head: Module<[Tensor], Tensor> | null;
  mask_predictor: Module<[Tensor], Tensor> | null;
  readonly proposalMatcher: Matcher;
  readonly fgBgSampler: BalancedPositiveNegativeSampler;
  readonly boxCoder: BoxCoder;
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;

  constructor(
    boxRoiPool: RoIPool,
    boxHead: Module<[Tensor], Tensor>,
    boxPredictor: Module<[Tensor], [Tensor, Tensor]>,
    options: RoIHeadsOptions,
  ) {
    super();
    this.box_roi_pool = boxRoiPool;
    this.box_head = boxHead;
    this.box_predictor = boxPredictor;
    this.mask_roi_pool = options.maskRoiPool ?? null;
    this.mask_head = options.maskHead ?? null;
    this.mask_predictor = options.maskPredictor ?? null;
    this.proposalMatcher = new Matcher(options.fgIouThresh, options.bgIouThresh, false);
    this.fgBgSampler = new BalancedPositiveNegativeSampler(options.batchSizePerImage, options.positiveFraction);
    this.boxCoder = new BoxCoder(options.bboxRegWeights ?? [10, 10, 5, 5]);
    this.scoreThresh = options.scoreThresh;
    this.nmsThresh = options.nmsThresh;
    this.detectionsPerImg = options.detectionsPerImg;
  }

  hasMask(): boolean {
    return this.mask_roi_pool !== null && this.mask_head !== null && this.mask_predictor !== null;
  }

  /**
   * Per image: each proposal's matched ground-truth index (0 where unmatched) and its label
   * (the ground truth's class, 0 for background, -1 between the thresholds; int64).
   */
  assignTargetsToProposals(
    proposals: readonly Tensor[],
    gtBoxes: readonly Tensor[],
    gtLabels: readonly Tensor[],
  ): [Tensor[], Tensor[]] {
    const matchedIdxs: Tensor[] = [];
    const labels: Tensor[] = [];
    proposals.forEach((proposalsInImage, i) => {
      const gtBoxesInImage = gtBoxes[i]!;
      if (gtBoxesInImage.numel() === 0) {
        // A background image.
        const count = proposalsInImage.shape[0]!;
        matchedIdxs.push(zeros([count], { dtype: 'int64' }));
        labels.push(zeros([count], { dtype: 'int64' }));
        return;
      }
      const matchQualityMatrix = boxIou(gtBoxesInImage, proposalsInImage);
      const matchedIdxsInImage = this.proposalMatcher.call(matchQualityMatrix);
      const clampedMatchedIdxsInImage = F.clamp(matchedIdxsInImage, { min: 0 });
      let labelsInImage = F.to(F.getitem(gtLabels[i]!, clampedMatchedIdxsInImage), 'int64');
      labelsInImage = F.maskedFill(labelsInImage, F.eq(matchedIdxsInImage, Matcher.BELOW_LOW_THRESHOLD), 0);
      // -1 is ignored by the sampler.
      labelsInImage = F.maskedFill(labelsInImage, F.eq(matchedIdxsInImage, Matcher.BETWEEN_THRESHOLDS), -1);
      matchedIdxs.push(clampedMatchedIdxsInImage);
      labels.push(labelsInImage);
    });
    return [matchedIdxs, labels];
  }

  /** Per image, the indices (increasing) of the proposals the sampler chose. */
  subsample(labels: readonly Tensor[]): Tensor[] {
    const [sampledPosInds, sampledNegInds] = this.fgBgSampler.call(labels);
    return sampledPosInds.map((posIndsImg, i) => wherePositions(F.logicalOr(posIndsImg, sampledNegInds[i]!)));
  }

  /** The ground-truth boxes appended to each image's proposals. */
  addGtProposals(proposals: readonly Tensor[], gtBoxes: readonly Tensor[]): Tensor[] {
    return proposals.map((proposal, i) => F.cat([proposal, gtBoxes[i]!], 0));
  }

  checkTargets(targets: readonly DetectionTarget[] | null): asserts targets is readonly DetectionTarget[] {
    const fix = 'give every image a { boxes, labels } target (and masks for Mask R-CNN)';
    if (targets === null) throw new TypeError(`[RoIHeads] targets should not be None in training mode; ${fix}`);
    const keys: ('boxes' | 'labels' | 'masks')[] = this.hasMask() ? ['boxes', 'labels', 'masks'] : ['boxes', 'labels'];
    for (const key of keys) {
      if (!targets.every((t) => t[key] !== undefined)) {
        throw new TypeError(`[RoIHeads] Every element of targets should have a ${key} key; ${fix}`);
      }
    }
  }

  /**
   * The training samples of each image: the sampled proposals (ground-truth boxes included), their
   * matched ground-truth indices, labels, and box regression targets.
   */
  selectTrainingSamples(
    proposals: readonly Tensor[],
    targets: readonly DetectionTarget[] | null,
  ): [Tensor[], Tensor[], Tensor[], Tensor[]] {
    this.checkTargets(targets);
    const dtype = proposals[0]!.dtype;
    const gtBoxes = targets.map((t) => F.to(t.boxes, dtype));
    const gtLabels = targets.map((t) => t.labels);

    const withGt = this.addGtProposals(proposals, gtBoxes);
    const [allMatchedIdxs, allLabels] = this.assignTargetsToProposals(withGt, gtBoxes, gtLabels);
    const sampledInds = this.subsample(allLabels);
    const sampled = (per: readonly Tensor[]): Tensor[] => per.map((x, i) => F.getitem(x, sampledInds[i]!));
    const sampledProposals = sampled(withGt);
    const labels = sampled(allLabels);
    const matchedIdxs = sampled(allMatchedIdxs);
    const matchedGtBoxes = gtBoxes.map((gtBoxesInImage, i) => {
      const boxes = gtBoxesInImage.numel() === 0 ? zeros([1, 4], { dtype }) : gtBoxesInImage;
      return F.getitem(boxes, matchedIdxs[i]!);
    });
    const regressionTargets = this.boxCoder.encode(matchedGtBoxes, sampledProposals);
    return [sampledProposals, matchedIdxs, labels, regressionTargets];
  }

  /**
   * Each image's detections: per-class boxes decoded and clipped, background dropped, scores
   * above `scoreThresh`, boxes of at least 0.01, NMS per class, the best `detectionsPerImg`.
   */
  postprocessDetections(
    classLogits: Tensor,
    boxRegression: Tensor,
    proposals: readonly Tensor[],
    imageShapes: readonly ImageSize[],
  ): [Tensor[], Tensor[], Tensor[]] {
    const numClasses = classLogits.shape[classLogits.ndim - 1]!;
    const boxesPerImage = proposals.map((boxesInImage) => boxesInImage.shape[0]!);
    const predBoxes = this.boxCoder.decode(boxRegression, proposals);
    const predScores = F.softmax(classLogits, -1);
    const predBoxesList = F.split(predBoxes, boxesPerImage, 0);
    const predScoresList = F.split(predScores, boxesPerImage, 0);

    const allBoxes: Tensor[] = [];
    const allScores: Tensor[] = [];
    const allLabels: Tensor[] = [];
    imageShapes.forEach((imageShape, i) => {
      let boxes = clipBoxesToImage(predBoxesList[i]!, imageShape);
      let scores = predScoresList[i]!;
      // A label for each prediction.
      let labels = F.expand(F.view(F.arange(numClasses), [1, -1]), [...scores.shape]);
      // Drop the background class, then make every class prediction a separate instance.
      boxes = F.reshape(F.getitem(boxes, [slice(), slice(1)]), [-1, 4]);
      scores = F.reshape(F.getitem(scores, [slice(), slice(1)]), [-1]);
      labels = F.reshape(F.getitem(labels, [slice(), slice(1)]), [-1]);
      const take = (keep: Tensor): void => {
        [boxes, scores, labels] = [F.getitem(boxes, keep), F.getitem(scores, keep), F.getitem(labels, keep)];
      };
      take(wherePositions(F.gt(scores, this.scoreThresh)));
      take(removeSmallBoxes(boxes, 1e-2));
      // NMS independently per class, then the best detectionsPerImg.
      take(F.getitem(batchedNms(boxes, scores, labels, this.nmsThresh), slice(null, this.detectionsPerImg)));
      allBoxes.push(boxes);
      allScores.push(scores);
      allLabels.push(labels);
    });
    return [allBoxes, allScores, allLabels];
  }

  /**
   * Detections per image (eval mode) or the losses (training mode, `targets` required).
   * @param features the feature maps by name, as the RoI pools read them
   * @param proposals each image's proposals [K, 4], in the coordinates of `imageShapes`
   * @param imageShapes each image's [height, width] in the batch
   */
  forward(
    features: Record<string, Tensor>,
    proposals: Tensor[],
    imageShapes: ImageSize[],
    targets: DetectionTarget[] | null = null,
  ): [Detection[], DetectionLosses] {
    for (const t of targets ?? []) {
      // A missing key is reported by checkTargets, with torchvision's message.
      if (t.boxes !== undefined && !isFloating(t.boxes.dtype)) {
        throw new TypeError(
          `[RoIHeads] target boxes must of float type, instead got ${t.boxes.dtype}; convert them with .to('float32')`,
        );
      }
      if (t.labels !== undefined && t.labels.dtype !== 'int64') {
        throw new TypeError(
          `[RoIHeads] target labels must of int64 type, instead got ${t.labels.dtype}; convert them with .to('int64')`,
        );
      }
    }

    let matchedIdxs: Tensor[] = [];
    let labels: Tensor[] = [];
    let regressionTargets: Tensor[] = [];
    if (this.training) {
      [proposals, matchedIdxs, labels, regressionTargets] = this.selectTrainingSamples(proposals, targets);
    }
    const boxFeatures = this.box_head.call(this.box_roi_pool.call(features, proposals, imageShapes));
    const [classLogits, boxRegression] = this.box_predictor.call(boxFeatures);

    const result: Detection[] = [];
    const losses: DetectionLosses = {};
    if (this.training) {
      const [lossClassifier, lossBoxReg] = fastrcnnLoss(classLogits, boxRegression, labels, regressionTargets);
      Object.assign(losses, { loss_classifier: lossClassifier, loss_box_reg: lossBoxReg });
    } else {
      const [boxes, scores, detectionLabels] = this.postprocessDetections(
        classLogits,
        boxRegression,
        proposals,
        imageShapes,
      );
      boxes.forEach((b, i) => result.push({ boxes: b, labels: detectionLabels[i]!, scores: scores[i]! }));
    }

    if (this.mask_roi_pool !== null && this.mask_head !== null && this.mask_predictor !== null) {
      let maskProposals = result.map((r) => r.boxes);
      let posMatchedIdxs: Tensor[] = [];
      if (this.training) {
        // Only the positive proposals, in training.
        const positives = labels.map((l) => wherePositions(F.gt(l, 0)));
        maskProposals = proposals.map((p, i) => F.getitem(p, positives[i]!));
        posMatchedIdxs = matchedIdxs.map((m, i) => F.getitem(m, positives[i]!));
      }
      const maskFeatures = this.mask_head.call(this.mask_roi_pool.call(features, maskProposals, imageShapes));
      const maskLogits = this.mask_predictor.call(maskFeatures);
      if (this.training) {
        // selectTrainingSamples checked that every target has masks.
        const gtMasks = targets!.map((t) => t.masks!);
        const gtLabels = targets!.map((t) => t.labels);
        losses.loss_mask = maskrcnnLoss(maskLogits, maskProposals, gtMasks, gtLabels, posMatchedIdxs);
      } else {
        const masksProbs = maskrcnnInference(
          maskLogits,
          result.map((r) => r.labels),
        );
        result.forEach((r, i) => (r.masks = masksProbs[i]!));
      }
    }
    return [result, losses];
  }
}
