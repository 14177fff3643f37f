/**
 * Faster R-CNN, as torchvision 0.14's models/detection/faster_rcnn.py: a backbone with FPN, the
 * region proposal network and the RoI box heads, with torchvision's defaults, checks and
 * state-dict keys. The zoo's builders are in builders.ts.
 */
import { Linear } from '../../nn/layers/linear.js';
import { Module } from '../../nn/module.js';
import { MultiScaleRoIAlign } from '../../nn/vision-ops/poolers.js';
import * as F from '../../ops/functional.js';
import type { Tensor } from '../../tensor/tensor.js';
import { AnchorGenerator } from './anchor-utils.js';
import { GeneralizedRCNN } from './generalized-rcnn.js';
import { RoIHeads } from './roi-heads.js';
import { RegionProposalNetwork, RPNHead } from './rpn.js';
import { GeneralizedRCNNTransform } from './transform.js';

/** A box head: pooled RoI features [K, C, h, w] to one representation per box [K, D]. */
export type BoxHead = Module<[Tensor], Tensor>;
/** A box predictor: representations [K, D] to class scores [K, numClasses] and deltas [K, numClasses * 4]. */
export type BoxPredictor = Module<[Tensor], [Tensor, Tensor]>;

/** FasterRCNN's options: torchvision's keyword arguments in camelCase, with its defaults. */
export interface FasterRCNNOptions {
  /** Classes including the background; required unless `boxPredictor` is given, and then not allowed. */
  numClasses?: number | null;
  /** Default 800: images are resized so that their shorter side is this. */
  minSize?: number | readonly number[];
  /** Default 1333: ... unless their longer side would then exceed this. */
  maxSize?: number;
  /** Default ImageNet's [0.485, 0.456, 0.406]. */
  imageMean?: readonly number[];
  /** Default ImageNet's [0.229, 0.224, 0.225]. */
  imageStd?: readonly number[];
  /** Default sizes 32-512 on 5 levels, aspect ratios 0.5, 1, 2. */
  rpnAnchorGenerator?: AnchorGenerator | null;
  /** Default RPNHead(backbone.outChannels, anchors per location). */
  rpnHead?: RPNHead | null;
  rpnPreNmsTopNTrain?: number;
  rpnPreNmsTopNTest?: number;
  rpnPostNmsTopNTrain?: number;
  rpnPostNmsTopNTest?: number;
  rpnNmsThresh?: number;
  rpnFgIouThresh?: number;
  rpnBgIouThresh?: number;
  rpnBatchSizePerImage?: number;
  rpnPositiveFraction?: number;
  rpnScoreThresh?: number;
  /** Default MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2). */
  boxRoiPool?: MultiScaleRoIAlign | null;
  /** Default TwoMLPHead(outChannels * 7 * 7, 1024). */
  boxHead?: BoxHead | null;
  /** Default FastRCNNPredictor(1024, numClasses). */
  boxPredictor?: BoxPredictor | null;
  boxScoreThresh?: number;
  boxNmsThresh?: number;
  boxDetectionsPerImg?: number;
  boxFgIouThresh?: number;
  boxBgIouThresh?: number;
  boxBatchSizePerImage?: number;
  boxPositiveFraction?: number;
  /** Default [10, 10, 5, 5]. */
  bboxRegWeights?: readonly [number, number, number, number] | null;
  /** GeneralizedRCNNTransform's: batch padding to a multiple of this (default 32). */
  sizeDivisible?: number;
  /** GeneralizedRCNNTransform's: resize every image to this [width, height] instead. */
  fixedSize?: readonly [number, number] | null;
  /** GeneralizedRCNNTransform's: leave train-mode images at their size (torchvision's `_skip_resize`). */
  skipResize?: boolean;
}

/** torchvision's default anchors: one size per FPN level, three aspect ratios. */
function defaultAnchorGenerator(): AnchorGenerator {
  const anchorSizes = [[32], [64], [128], [256], [512]];
  return new AnchorGenerator(
    anchorSizes,
    anchorSizes.map(() => [0.5, 1.0, 2.0]),
  );
}

/** A backbone's `outChannels`, which torchvision reads as `backbone.out_channels`. */
export function backboneOutChannels(backbone: Module): number {
  const outChannels = (backbone as unknown as { outChannels?: unknown }).outChannels;
  if (typeof outChannels !== 'number')
    throw new TypeError(
      'backbone should contain an attribute out_channels specifying the number of output channels (assumed to be ' +
        'the same for all the levels); featurefx reads it as `outChannels`',
    );
  return outChannels;
}

/**
 * Faster R-CNN: `call(images)` in eval mode gives one `{ boxes, labels, scores }` per image;
 * `call(images, targets)` in train mode gives the losses.
 * @example
 * import { FasterRCNN, rand, resnetFpnBackbone, type Detection } from 'featurefx';
 *
 * const backbone = resnetFpnBackbone({ backboneName: 'resnet18', trainableLayers: 5 });
 * const model = new FasterRCNN(backbone, { numClasses: 3, minSize: 64, maxSize: 96, boxDetectionsPerImg: 5 }).eval();
 * const [detection] = model.call([rand([3, 48, 64])]) as Detection[]; // images [3, H, W] in [0, 1]
 * // detection.boxes [K, 4], detection.labels [K], detection.scores [K], in the image's coordinates
 */
export class FasterRCNN extends GeneralizedRCNN {
  constructor(backbone: Module, options: FasterRCNNOptions = {}) {
    const o = options;
    if (o.rpnAnchorGenerator != null && !(o.rpnAnchorGenerator instanceof AnchorGenerator))
      throw new TypeError(
        `rpn_anchor_generator should be of type AnchorGenerator or None instead of ${typeName(o.rpnAnchorGenerator)}`,
      );
    if (o.boxRoiPool != null && !(o.boxRoiPool instanceof MultiScaleRoIAlign))
      throw new TypeError(
        `box_roi_pool should be of type MultiScaleRoIAlign or None instead of ${typeName(o.boxRoiPool)}`,
      );
    const numClasses = o.numClasses ?? null;
    if (numClasses !== null && o.boxPredictor != null)
      throw new RangeError('num_classes should be None when box_predictor is specified');
    if (numClasses === null && o.boxPredictor == null)
      throw new RangeError('num_classes should not be None when box_predictor is not specified');
    const outChannels = backboneOutChannels(backbone);
    const anchorGenerator = o.rpnAnchorGenerator ?? defaultAnchorGenerator();
    const rpnHead = o.rpnHead ?? new RPNHead(outChannels, anchorGenerator.numAnchorsPerLocation()[0]!);
    const rpn = new RegionProposalNetwork(anchorGenerator, rpnHead, {
      fgIouThresh: o.rpnFgIouThresh ?? 0.7,
      bgIouThresh: o.rpnBgIouThresh ?? 0.3,
      batchSizePerImage: o.rpnBatchSizePerImage ?? 256,
      positiveFraction: o.rpnPositiveFraction ?? 0.5,
      preNmsTopN: { training: o.rpnPreNmsTopNTrain ?? 2000, testing: o.rpnPreNmsTopNTest ?? 1000 },
      postNmsTopN: { training: o.rpnPostNmsTopNTrain ?? 2000, testing: o.rpnPostNmsTopNTest ?? 1000 },
      nmsThresh: o.rpnNmsThresh ?? 0.7,
      scoreThresh: o.rpnScoreThresh ?? 0.0,
    });
    const boxRoiPool = o.boxRoiPool ?? new MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2);
    const representationSize = 1024;
    const resolution = boxRoiPool.outputSize[0];
    const boxHead = o.boxHead ?? new TwoMLPHead(outChannels * resolution ** 2, representationSize);
    const boxPredictor = o.boxPredictor ?? new FastRCNNPredictor(representationSize, numClasses!);
    const roiHeads = new RoIHeads(boxRoiPool, boxHead, boxPredictor, {
      fgIouThresh: o.boxFgIouThresh ?? 0.5,
      bgIouThresh: o.boxBgIouThresh ?? 0.5,
      batchSizePerImage: o.boxBatchSizePerImage ?? 512,
      positiveFraction: o.boxPositiveFraction ?? 0.25,
      bboxRegWeights: o.bboxRegWeights ?? null,
      scoreThresh: o.boxScoreThresh ?? 0.05,
      nmsThresh: o.boxNmsThresh ?? 0.5,
      detectionsPerImg: o.boxDetectionsPerImg ?? 100,
    });
    const transform = new GeneralizedRCNNTransform(
      o.minSize ?? 800,
      o.maxSize ?? 1333,
      o.imageMean ?? [0.485, 0.456, 0.406],
      o.imageStd ?? [0.229, 0.224, 0.225],
      { sizeDivisible: o.sizeDivisible ?? 32, fixedSize: o.fixedSize ?? null, skipResize: o.skipResize ?? false },
    );
    super(backbone, rpn, roiHeads, transform);
  }
}

/** How torchvision's type errors name what they got. */
export function typeName(value: unknown): string {
  return value instanceof Module ? value.className : typeof value;
}

/** Two fully connected layers with ReLU over the flattened RoI features: fc6, fc7. */
export class TwoMLPHead extends Module<[Tensor], Tensor> {
  fc6: Linear;
  fc7: Linear;

  constructor(inChannels: number, representationSize: number) {
    super();
    this.fc6 = new Linear(inChannels, representationSize);
    this.fc7 = new Linear(representationSize, representationSize);
  }

  forward(x: Tensor): Tensor {
    x = F.flatten(x, 1);
    x = F.relu(this.fc6.call(x));
    return F.relu(this.fc7.call(x));
  }
}

/** Class scores (cls_score) and per-class box deltas (bbox_pred) from each box's representation. */
export class FastRCNNPredictor extends Module<[Tensor], [Tensor, Tensor]> {
  cls_score: Linear;
  bbox_pred: Linear;

  constructor(inChannels: number, numClasses: number) {
    super();
    this.cls_score = new Linear(inChannels, numClasses);
    this.bbox_pred = new Linear(inChannels, numClasses * 4);
  }

  forward(x: Tensor): [Tensor, Tensor] {
    if (x.ndim === 4) {
      const rest = x.shape.slice(2);
      if (rest[0] !== 1 || rest[1] !== 1)
        throw new RangeError(
          `x has the wrong shape, expecting the last two dimensions to be [1,1] instead of [${rest.join(', ')}]`,
        );
    }
    x = F.flatten(x, 1);
    return [this.cls_score.call(x), this.bbox_pred.call(x)];
  }
}
