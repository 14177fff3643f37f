/**
 * torchvision.ops.boxes (0.14): box areas, IoU, clipping, small-box removal and batched NMS, as
 * ops on [N, 4] tensors of (x1, y1, x2, y2) boxes. These run eagerly (their outputs' sizes depend
 * on the data), each step an op as in torchvision.
 */
import * as F from '../../ops/functional.js';
import { ones, tensor, zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';

const { slice } = F;

/** Column `i` of an [N, 4] box tensor, as `boxes[:, i]`. */
function column(boxes: Tensor, i: number): Tensor {
  return F.getitem(boxes, [slice(), i]);
}

/** The first column of `torch.where(mask)`: the positions where a 1-D mask holds, int64 [K]. */
export function wherePositions(mask: Tensor): Tensor {
  return F.getitem(F.nonzero(mask), [slice(), 0]);
}

/**
 * The area of each box, as `torchvision.ops.box_area`.
 * @example
 * nn.boxArea(tensor([[0, 0, 2, 3]])); // [6]
 */
export function boxArea(boxes: Tensor): Tensor {
  return F.mul(F.sub(column(boxes, 2), column(boxes, 0)), F.sub(column(boxes, 3), column(boxes, 1)));
}

/**
 * Pairwise intersection-over-union of [N, 4] and [M, 4] boxes: [N, M], as `torchvision.ops.box_iou`.
 * @example
 * nn.boxIou(tensor([[0, 0, 2, 2]]), tensor([[1, 0, 3, 2]])); // [[1/3]]
 */
export function boxIou(boxes1: Tensor, boxes2: Tensor): Tensor {
  const area1 = boxArea(boxes1);
  const area2 = boxArea(boxes2);
  const lt = F.maximum(
    F.getitem(boxes1, [slice(), null, slice(null, 2)]),
    F.getitem(boxes2, [slice(), slice(null, 2)]),
  );
  const rb = F.minimum(F.getitem(boxes1, [slice(), null, slice(2)]), F.getitem(boxes2, [slice(), slice(2)]));
  const wh = F.clamp(F.sub(rb, lt), { min: 0 });
  const inter = F.mul(F.getitem(wh, [slice(), slice(), 0]), F.getitem(wh, [slice(), slice(), 1]));
  const union = F.sub(F.add(F.unsqueeze(area1, 1), area2), inter);
  return F.div(inter, union);
}

/**
 * Boxes clipped to an image of `size` = [height, width], as `torchvision.ops.clip_boxes_to_image`.
 * @example
 * nn.clipBoxesToImage(tensor([[-5, 2, 40, 9]]), [8, 32]); // [[0, 2, 32, 8]]
 */
export function clipBoxesToImage(boxes: Tensor, size: readonly [number, number]): Tensor {
  const dim = boxes.ndim;
  const [height, width] = size;
  const boxesX = F.clamp(F.getitem(boxes, ['...', slice(0, null, 2)]), { min: 0, max: width });
  const boxesY = F.clamp(F.getitem(boxes, ['...', slice(1, null, 2)]), { min: 0, max: height });
  return F.reshape(F.stack([boxesX, boxesY], dim), [...boxes.shape]);
}

/**
 * The indices (int64 [K]) of the boxes whose sides are both at least `minSize`, as
 * `torchvision.ops.remove_small_boxes`.
 */
export function removeSmallBoxes(boxes: Tensor, minSize: number): Tensor {
  const ws = F.sub(column(boxes, 2), column(boxes, 0));
  const hs = F.sub(column(boxes, 3), column(boxes, 1));
  return wherePositions(F.logicalAnd(F.ge(ws, minSize), F.ge(hs, minSize)));
}

/**
 * Non-maximum suppression within each category `idxs` (int64 [N]): the kept indices (int64),
 * by decreasing score, as `torchvision.ops.batched_nms`. Like torchvision on CPU, more than 4000
 * box coordinates go class by class, fewer through one NMS over boxes offset per class; both give
 * torchvision's result.
 * @example
 * const boxes = tensor([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10]]);
 * nn.batchedNms(boxes, tensor([0.9, 0.8, 0.7]), tensor([0n, 0n, 1n]), 0.5); // [0, 2]
 */
export function batchedNms(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  return boxes.numel() > 4000
    ? batchedNmsVanilla(boxes, scores, idxs, iouThreshold)
    : batchedNmsCoordinateTrick(boxes, scores, idxs, iouThreshold);
}

/** One NMS over boxes shifted by (class × (largest coordinate + 1)), so classes never overlap. */
export function batchedNmsCoordinateTrick(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  if (boxes.numel() === 0) return zeros([0], { dtype: 'int64' });
  const maxCoordinate = F.amax(boxes);
  const offsets = F.mul(F.to(idxs, boxes.dtype), F.add(maxCoordinate, 1));
  const boxesForNms = F.add(boxes, F.unsqueeze(offsets, 1));
  return F.nms(boxesForNms, scores, iouThreshold);
}

/** torchvision's `_batched_nms_vanilla`: NMS per class, then the kept boxes by decreasing score. */
export function batchedNmsVanilla(boxes: Tensor, scores: Tensor, idxs: Tensor, iouThreshold: number): Tensor {
  const kept: Tensor[] = [];
  for (const classId of unique(idxs)) {
    const currIndices = wherePositions(F.eq(idxs, classId));
    const currKeep = F.nms(F.indexSelect(boxes, 0, currIndices), F.indexSelect(scores, 0, currIndices), iouThreshold);
    kept.push(F.indexSelect(currIndices, 0, currKeep));
  }
  // keep_mask[kept] = True, then torch.where(keep_mask): the kept indices in increasing order.
  const keptIndices = F.cat(kept, 0);
  const keepMask = F.scatterAdd(zeros([scores.shape[0]!]), 0, keptIndices, ones([keptIndices.shape[0]!]));
  const keepIndices = wherePositions(F.gt(keepMask, 0));
  const keptScores = F.indexSelect(scores, 0, keepIndices);
  const [, order] = F.topk(keptScores, keptScores.shape[0]!);
  return F.indexSelect(keepIndices, 0, order);
}

/** The distinct values of an int64 tensor in increasing order, as JS numbers (`torch.unique`). */
function unique(values: Tensor): number[] {
  const n = values.numel();
  if (n === 0) return [];
  const [sorted] = F.topk(F.reshape(values, [n]), n, { largest: false });
  const changes = F.ne(F.getitem(sorted, slice(1)), F.getitem(sorted, slice(null, -1)));
  const firsts = F.cat([tensor([true]), changes], 0);
  return Array.from(F.indexSelect(sorted, 0, wherePositions(firsts)).data as BigInt64Array, Number);
}
