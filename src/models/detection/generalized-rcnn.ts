/**
 * torchvision 0.14's GeneralizedRCNN (models/detection/generalized_rcnn.py): transform, backbone,
 * region proposals and RoI heads, in that order, with torchvision's checks on the targets. It runs
 * eagerly: proposals and detections depend on the data.
 */
import { Module } from '../../nn/module.js';
import * as F from '../../ops/functional.js';
import { Tensor } from '../../tensor/tensor.js';
import type { ImageSize } from './image-list.js';
import type { RoIHeads } from './roi-heads.js';
import type { RegionProposalNetwork } from './rpn.js';
import type { GeneralizedRCNNTransform } from './transform.js';
import type { Detection, DetectionLosses, DetectionTarget } from './types.js';

/**
 * The detection models' frame. In eval mode `call(images)` gives one `Detection` per image, in
 * that image's coordinates; in train mode `call(images, targets)` gives the losses, whose sum
 * `backward()` trains the model end to end.
 */
export class GeneralizedRCNN extends Module<[Tensor[], DetectionTarget[]?], Detection[] | DetectionLosses> {
  transform: GeneralizedRCNNTransform;
  backbone: Module;
  rpn: RegionProposalNetwork;
  roi_heads: RoIHeads;

  constructor(backbone: Module, rpn: RegionProposalNetwork, roiHeads: RoIHeads, transform: GeneralizedRCNNTransform) {
    super();
    this.transform = transform;
    this.backbone = backbone;
    this.rpn = rpn;
    this.roi_heads = roiHeads;
  }

  /** @param images each [C, H, W] in [0, 1], of any size. @param targets one per image, in train mode. */
  forward(images: Tensor[], targets?: DetectionTarget[]): Detection[] | DetectionLosses {
    if (this.training) {
      if (targets === undefined) throw new TypeError('targets should not be none when in training mode');
      for (const target of targets) checkBoxesShape(target.boxes);
    }
    const originalImageSizes = images.map((img): ImageSize => {
      if (img.ndim < 2)
        throw new RangeError(
          `expecting the last two dimensions of the Tensor to be H and W instead got [${img.shape.join(', ')}]`,
        );
      return [img.shape[img.ndim - 2]!, img.shape[img.ndim - 1]!];
    });
    const [imageList, transformedTargets] = this.transform.call(images, targets ?? null);
    transformedTargets?.forEach(checkDegenerateBoxes);
    let features = this.backbone.call(imageList.tensors) as Record<string, Tensor> | Tensor;
    if (features instanceof Tensor) features = { '0': features };
    const [proposals, proposalLosses] = this.rpn.call(imageList, features, transformedTargets);
    const [detections, detectorLosses] = this.roi_heads.call(
      features,
      proposals,
      imageList.imageSizes,
      transformedTargets,
    );
    if (this.training) return { ...detectorLosses, ...proposalLosses };
    return this.transform.postprocess(detections, imageList.imageSizes, originalImageSizes);
  }
}

function checkBoxesShape(boxes: unknown): void {
  if (!(boxes instanceof Tensor))
    throw new TypeError(`Expected target boxes to be of type Tensor, got ${typeof boxes}.`);
  if (boxes.ndim !== 2 || boxes.shape[1] !== 4)
    throw new RangeError(`Expected target boxes to be a tensor of shape [N, 4], got [${boxes.shape.join(', ')}].`);
}

/** Refuses boxes with x2 <= x1 or y2 <= y1, naming the first, as torchvision does. */
function checkDegenerateBoxes(target: DetectionTarget, targetIdx: number): void {
  const boxes = target.boxes;
  const degenerate = F.le(F.getitem(boxes, [F.slice(), F.slice(2)]), F.getitem(boxes, [F.slice(), F.slice(null, 2)]));
  // nonzero lists positions in row order: its first row is the first degenerate box.
  const positions = F.nonzero(degenerate);
  if (positions.shape[0] === 0) return;
  const bbIdx = Number(F.getitem(positions, [0, 0]).item());
  const degenBb = F.getitem(boxes, bbIdx).toArray() as number[];
  throw new RangeError(
    'All bounding boxes should have positive height and width.' +
      ` Found invalid box ${formatBox(degenBb)} for target at index ${targetIdx}.`,
  );
}

/** As Python prints a list of floats: [125.0, 125.0, 62.5, 250.0]. */
function formatBox(box: number[]): string {
  return `[${box.map((v) => (Number.isInteger(v) ? v.toFixed(1) : String(v))).join(', ')}]`;
}
