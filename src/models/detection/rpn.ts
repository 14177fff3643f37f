/**
 * torchvision 0.14's models/detection/rpn.py: the Region Proposal Network and its head. It runs
 * eagerly (which anchors survive depends on the data), every numeric step an op, in torchvision's
 * order; proposals are detached, so Faster R-CNN does not backpropagate through them.
 */
import { Conv2d } from '../../nn/layers/conv.js';
import { Sequential } from '../../nn/layers/containers.js';
import { normal } from '../../nn/init.js';
import { Module } from '../../nn/module.js';
import { renameKey } from '../../nn/state-dict.js';
import { batchedNms, boxIou, clipBoxesToImage, removeSmallBoxes, wherePositions } from '../../nn/vision-ops/boxes.js';
import { Conv2dNormActivation } from '../../nn/vision-ops/conv2d-norm-activation.js';
import * as F from '../../ops/functional.js';
import { full, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { AnchorGenerator } from './anchor-utils.js';
import { BalancedPositiveNegativeSampler, BoxCoder, Matcher } from './det-utils.js';
import type { ImageList, ImageSize } from './image-list.js';
import type { DetectionLosses, DetectionTarget } from './types.js';

const { slice } = F;

/**
 * The RPN's head: a 3x3 convolution with ReLU per level, then 1x1 convolutions to an objectness
 * logit and 4 box deltas per anchor, as torchvision's `RPNHead` (state-dict keys `conv.0.0.*`,
 * `cls_logits.*`, `bbox_pred.*`).
 * @example
 * const head = new RPNHead(256, 3);
 * const [logits, deltas] = head.call([randn([1, 256, 16, 16])]); // [1, 3, 16, 16], [1, 12, 16, 16] per level
 */
export class RPNHead extends Module<[Tensor[]], [Tensor[], Tensor[]]> {
  conv: Sequential<Tensor>;
  cls_logits: Conv2d;
  bbox_pred: Conv2d;

  constructor(inChannels: number, numAnchors: number, convDepth = 1) {
    super();
    const convs = Array.from(
      { length: convDepth },
      () => new Conv2dNormActivation(inChannels, inChannels, 3, { normLayer: null }),
    );
    this.conv = new Sequential<Tensor>(...convs);
    this.cls_logits = new Conv2d(inChannels, numAnchors, 1, { stride: 1 });
    this.bbox_pred = new Conv2d(inChannels, numAnchors * 4, 1, { stride: 1 });
    for (const layer of this.modules()) {
      if (layer instanceof Conv2d) {
        layer.weight = normal(layer.weight.shape, 0.01);
        if (layer.bias !== null) layer.bias = zeros(layer.bias.shape);
      }
    }
  }

  /** torchvision before 0.13 (version 1) saved the single convolution as `conv.weight`, `conv.bias`. */
  override upgradeStateDict(stateDict: Map<string, Tensor>, prefix: string): void {
    for (const type of ['weight', 'bias']) renameKey(stateDict, `${prefix}conv.${type}`, `${prefix}conv.0.0.${type}`);
  }

  forward(x: Tensor[]): [Tensor[], Tensor[]] {
    const logits: Tensor[] = [];
    const bboxReg: Tensor[] = [];
    for (const feature of x) {
      const t = this.conv.call(feature);
      logits.push(this.cls_logits.call(t));
      bboxReg.push(this.bbox_pred.call(t));
    }
    return [logits, bboxReg];
  }
}

/** [N, A*C, H, W] to [N, H*W*A, C], as torchvision's `permute_and_flatten`. */
export function permuteAndFlatten(layer: Tensor, n: number, c: number, h: number, w: number): Tensor {
  const viewed = F.view(layer, [n, -1, c, h, w]);
  return F.reshape(F.permute(viewed, [0, 3, 4, 1, 2]), [n, -1, c]);
}

/**
 * Each level's class logits and box deltas flattened anchor by anchor and concatenated over the
 * levels: [sum of N*H*W*A, C] and [sum of N*H*W*A, 4], as torchvision's `concat_box_prediction_layers`.
 */
export function concatBoxPredictionLayers(
  boxCls: readonly Tensor[],
  boxRegression: readonly Tensor[],
): [Tensor, Tensor] {
  const boxClsFlattened: Tensor[] = [];
  const boxRegressionFlattened: Tensor[] = [];
  boxCls.forEach((boxClsPerLevel, level) => {
    const boxRegressionPerLevel = boxRegression[level]!;
    const [n, axc, h, w] = boxClsPerLevel.shape as [number, number, number, number];
    const a = Math.floor(boxRegressionPerLevel.shape[1]! / 4);
    const c = Math.floor(axc / a);
    boxClsFlattened.push(permuteAndFlatten(boxClsPerLevel, n, c, h, w));
    boxRegressionFlattened.push(permuteAndFlatten(boxRegressionPerLevel, n, 4, h, w));
  });
  // Levels are concatenated on the anchor dim, the order the anchors and labels have.
  return [F.flatten(F.cat(boxClsFlattened, 1), 0, -2), F.reshape(F.cat(boxRegressionFlattened, 1), [-1, 4])];
}

/** A setting with a value for training and one for testing (torchvision's dicts). */
export interface TrainTestValues {
  training: number;
  testing: number;
}

export interface RegionProposalNetworkOptions {
  /** Minimum IoU between an anchor and a ground-truth box for a positive anchor in training. */
  fgIouThresh: number;
  /** Maximum IoU between an anchor and every ground-truth box for a negative anchor in training. */
  bgIouThresh: number;
  /** Anchors sampled per image for the training losses. */
  batchSizePerImage: number;
  /** Proportion of positives in those samples. */
  positiveFraction: number;
  /** Proposals kept per level before NMS. */
  preNmsTopN: TrainTestValues;
  /** Proposals kept per image after NMS. */
  postNmsTopN: TrainTestValues;
  nmsThresh: number;
  /** Proposals with a lower objectness probability are dropped (default 0). */
  scoreThresh?: number;
}

/**
 * The Region Proposal Network, as torchvision's `RegionProposalNetwork`: anchors and the head's
 * predictions become at most `postNmsTopN` proposals per image; in training mode, given targets,
 * also the losses `loss_objectness` and `loss_rpn_box_reg`.
 * @example
 * const rpn = new RegionProposalNetwork(new AnchorGenerator([[32]], [[0.5, 1, 2]]), new RPNHead(256, 3), {
 *   fgIouThresh: 0.7, bgIouThresh: 0.3, batchSizePerImage: 256, positiveFraction: 0.5,
 *   preNmsTopN: { training: 2000, testing: 1000 }, postNmsTopN: { training: 2000, testing: 1000 }, nmsThresh: 0.7,
 * });
 * const imageList = new ImageList(rand([1, 3, 64, 64]), [[64, 64]]);
 * const [proposals] = rpn.eval().call(imageList, { '0': randn([1, 256, 16, 16]) }); // [K, 4] per image
 */
export class RegionProposalNetwork extends Module<
  [ImageList, Record<string, Tensor>, (DetectionTarget[] | null)?],
  [Tensor[], DetectionLosses]
> {
  anchor_generator: AnchorGenerator;
  head: Module<[Tensor[]], [Tensor[], Tensor[]]>;
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);
  readonly boxSimilarity = boxIou;
  readonly proposalMatcher: Matcher;
  readonly fgBgSampler: BalancedPositiveNegativeSampler;
  readonly preNmsTopNValues: TrainTestValues;
  readonly postNmsTopNValues: TrainTestValues;
  readonly nmsThresh: number;
  readonly scoreThresh: number;
  readonly minSize = 1e-3;

  constructor(
    anchorGenerator: AnchorGenerator,
    head: Module<[Tensor[]], [Tensor[], Tensor[]]>,
    options: RegionProposalNetworkOptions,
  ) {
    super();
    this.anchor_generator = anchorGenerator;
    this.head = head;
    this.proposalMatcher = new Matcher(options.fgIouThresh, options.bgIouThresh, true);
    this.fgBgSampler = new BalancedPositiveNegativeSampler(options.batchSizePerImage, options.positiveFraction);
    this.preNmsTopNValues = { ...options.preNmsTopN };
    this.postNmsTopNValues = { ...options.postNmsTopN };
    this.nmsThresh = options.nmsThresh;
    this.scoreThresh = options.scoreThresh ?? 0;
  }

  preNmsTopN(): number {
    return this.training ? this.preNmsTopNValues.training : this.preNmsTopNValues.testing;
  }

  postNmsTopN(): number {
    return this.training ? this.postNmsTopNValues.training : this.postNmsTopNValues.testing;
  }

  /**
   * Per image: each anchor's label (1 object, 0 background, -1 ignored; float32) and the
   * ground-truth box it is matched to.
   */
  assignTargetsToAnchors(anchors: readonly Tensor[], targets: readonly DetectionTarget[]): [Tensor[], Tensor[]] {
    const labels: Tensor[] = [];
    const matchedGtBoxes: Tensor[] = [];
    anchors.forEach((anchorsPerImage, i) => {
      const gtBoxes = targets[i]!.boxes;
      if (gtBoxes.numel() === 0) {
        // A background image (negative example).
        matchedGtBoxes.push(zeros(anchorsPerImage.shape));
        labels.push(zeros([anchorsPerImage.shape[0]!]));
        return;
      }
      const matchQualityMatrix = this.boxSimilarity(gtBoxes, anchorsPerImage);
      const matchedIdxs = this.proposalMatcher.call(matchQualityMatrix);
      // Clamped because matchedIdxs can be -2 with a single ground-truth box, out of bounds.
      matchedGtBoxes.push(F.getitem(gtBoxes, F.clamp(matchedIdxs, { min: 0 })));
      let labelsPerImage = F.to(F.ge(matchedIdxs, 0), 'float32');
      labelsPerImage = F.maskedFill(labelsPerImage, F.eq(matchedIdxs, Matcher.BELOW_LOW_THRESHOLD), 0);
      labelsPerImage = F.maskedFill(labelsPerImage, F.eq(matchedIdxs, Matcher.BETWEEN_THRESHOLDS), -1);
      labels.push(labelsPerImage);
    });
    return [labels, matchedGtBoxes];
  }

  /** The indices [N, sum of k] of the `preNmsTopN` best anchors of each level, into all anchors. */
  getTopNIdx(objectness: Tensor, numAnchorsPerLevel: readonly number[]): Tensor {
    const r: Tensor[] = [];
    let offset = 0;
    for (const ob of F.split(objectness, [...numAnchorsPerLevel], 1)) {
      const numAnchors = ob.shape[1]!;
      const preNmsTopN = Math.min(this.preNmsTopN(), numAnchors);
      const [, topNIdx] = F.topk(ob, preNmsTopN, { dim: 1 });
      r.push(F.add(topNIdx, offset));
      offset += numAnchors;
    }
    return F.cat(r, 1);
  }

  /**
   * Each image's proposals [K, 4] and objectness probabilities [K]: the best anchors per level,
   * clipped, without small or low-scoring boxes, NMS per level, then the `postNmsTopN` best.
   */
  filterProposals(
    proposals: Tensor,
    objectness: Tensor,
    imageShapes: readonly ImageSize[],
    numAnchorsPerLevel: readonly number[],
  ): [Tensor[], Tensor[]] {
    const numImages = proposals.shape[0]!;
    // Do not backpropagate through the objectness.
    let scores = F.reshape(objectness.detach(), [numImages, -1]);
    const levelIds = numAnchorsPerLevel.map((n, idx) => full([n], idx, { dtype: 'int64' }));
    let levels = F.expand(F.reshape(F.cat(levelIds, 0), [1, -1]), [...scores.shape]);

    // The best boxes of each level, independently, before NMS.
    const topNIdx = this.getTopNIdx(scores, numAnchorsPerLevel);
    // x[batch_idx, top_n_idx] with batch_idx = arange(N)[:, None]: a gather along the anchors.
    scores = F.gather(scores, 1, topNIdx);
    levels = F.gather(levels, 1, topNIdx);
    const boxIdx = F.expand(F.unsqueeze(topNIdx, 2), [...topNIdx.shape, 4]);
    const topProposals = F.gather(proposals, 1, boxIdx);
    const objectnessProb = F.sigmoid(scores);

    const finalBoxes: Tensor[] = [];
    const finalScores: Tensor[] = [];
    imageShapes.forEach((imgShape, i) => {
      let boxes = clipBoxesToImage(F.getitem(topProposals, i), imgShape);
      let probs = F.getitem(objectnessProb, i);
      let lvl = F.getitem(levels, i);
      const take = (keep: Tensor): void => {
        [boxes, probs, lvl] = [F.getitem(boxes, keep), F.getitem(probs, keep), F.getitem(lvl, keep)];
      };
      take(removeSmallBoxes(boxes, this.minSize));
      // >= (not >) for backwards compatibility, as torchvision.
      take(wherePositions(F.ge(probs, this.scoreThresh)));
      // NMS independently per level, then the best postNmsTopN.
      const keep = F.getitem(batchedNms(boxes, probs, lvl, this.nmsThresh), slice(null, this.postNmsTopN()));
      finalBoxes.push(F.getitem(boxes, keep));
      finalScores.push(F.getitem(probs, keep));
    });
    return [finalBoxes, finalScores];
  }

  /**
   * The objectness loss (binary cross entropy over the sampled anchors) and the box loss (smooth
   * L1 with beta 1/9 over the sampled positives, summed, divided by the number sampled).
   */
  computeLoss(
    objectness: Tensor,
    predBboxDeltas: Tensor,
    labels: readonly Tensor[],
    regressionTargets: readonly Tensor[],
  ): [Tensor, Tensor] {
    const [sampledPosMasks, sampledNegMasks] = this.fgBgSampler.call(labels);
    const sampledPosInds = wherePositions(F.cat(sampledPosMasks, 0));
    const sampledNegInds = wherePositions(F.cat(sampledNegMasks, 0));
    const sampledInds = F.cat([sampledPosInds, sampledNegInds], 0);
    const flatObjectness = F.flatten(objectness);
    const allLabels = F.cat([...labels], 0);
    const allRegressionTargets = F.cat([...regressionTargets], 0);

    const boxLoss = F.div(
      F.smoothL1Loss(F.getitem(predBboxDeltas, sampledPosInds), F.getitem(allRegressionTargets, sampledPosInds), {
        beta: 1 / 9,
        reduction: 'sum',
      }),
      sampledInds.numel(),
    );
    const objectnessLoss = F.binaryCrossEntropyWithLogits(
      F.getitem(flatObjectness, sampledInds),
      F.getitem(allLabels, sampledInds),
    );
    return [objectnessLoss, boxLoss];
  }

  /**
   * The proposals of each image ([K, 4], detached) and, in training mode, the losses.
   * @param features the feature maps by name; the RPN uses all of them, in order
   * @param targets each image's ground truth: required in training mode (`boxes` is used)
   */
  forward(
    images: ImageList,
    features: Record<string, Tensor>,
    targets: DetectionTarget[] | null = null,
  ): [Tensor[], DetectionLosses] {
    const featureList = Object.values(features);
    const [objectnessPerLevel, predBboxDeltasPerLevel] = this.head.call(featureList);
    const anchors = this.anchor_generator.call(images, featureList);

    const numImages = anchors.length;
    const numAnchorsPerLevel = objectnessPerLevel.map((o) => o.shape[1]! * o.shape[2]! * o.shape[3]!);
    const [objectness, predBboxDeltas] = concatBoxPredictionLayers(objectnessPerLevel, predBboxDeltasPerLevel);
    // The deltas are detached: Faster R-CNN does not backpropagate through the proposals.
    const proposals = F.view(this.boxCoder.decode(predBboxDeltas.detach(), anchors), [numImages, -1, 4]);
    const [boxes] = this.filterProposals(proposals, objectness, images.imageSizes, numAnchorsPerLevel);

    let losses: DetectionLosses = {};
    if (this.training) {
      if (targets === null) {
        throw new TypeError(
          "[RegionProposalNetwork] targets should not be None in training mode; pass each image's " +
            '{ boxes, labels }, or call eval() for proposals only',
        );
      }
      const [labels, matchedGtBoxes] = this.assignTargetsToAnchors(anchors, targets);
      const regressionTargets = this.boxCoder.encode(matchedGtBoxes, anchors);
      const [lossObjectness, lossRpnBoxReg] = this.computeLoss(objectness, predBboxDeltas, labels, regressionTargets);
      losses = { loss_objectness: lossObjectness, loss_rpn_box_reg: lossRpnBoxReg };
    }
    return [boxes, losses];
  }
}
