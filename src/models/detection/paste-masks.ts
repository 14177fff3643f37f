/**
 * Pasting Mask R-CNN's fixed-size box masks into the image, as torchvision's roi_heads.py
 * (`expand_boxes`, `expand_masks`, `paste_mask_in_image`, `paste_masks_in_image`, 0.14).
 */
import * as F from '../../ops/functional.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';

const { slice } = F;

/** Boxes [N, 4] scaled by `scale` about their centres. */
export function expandBoxes(boxes: Tensor, scale: number): Tensor {
  const col = (i: number): Tensor => F.getitem(boxes, [slice(), i]);
  const wHalf = F.mul(F.mul(F.sub(col(2), col(0)), 0.5), scale);
  const hHalf = F.mul(F.mul(F.sub(col(3), col(1)), 0.5), scale);
  const xC = F.mul(F.add(col(2), col(0)), 0.5);
  const yC = F.mul(F.add(col(3), col(1)), 0.5);
  return F.stack([F.sub(xC, wHalf), F.sub(yC, hHalf), F.add(xC, wHalf), F.add(yC, hHalf)], 1);
}

/** Masks [..., M, M] padded by `padding` on each side, and the scale (M + 2·padding) / M that makes. */
export function expandMasks(mask: Tensor, padding: number): [Tensor, number] {
  const m = mask.shape[mask.ndim - 1]!;
  const scale = (m + 2 * padding) / m;
  return [F.pad(mask, [padding, padding, padding, padding]), scale];
}

/**
 * One mask [M, M] resized (bilinear) to its integer box [4] (int64: x1, y1, x2, y2, inclusive)
 * and placed in an [imH, imW] image of zeros.
 */
export function pasteMaskInImage(mask: Tensor, box: Tensor, imH: number, imW: number): Tensor {
  // The box's four corners decide the sizes, as torchvision reads them with int().
  const [x1, y1, x2, y2] = Array.from(box.data as BigInt64Array, Number) as [number, number, number, number];
  const TO_REMOVE = 1;
  const w = Math.max(x2 - x1 + TO_REMOVE, 1);
  const h = Math.max(y2 - y1 + TO_REMOVE, 1);
  const resized = F.interpolate(F.reshape(mask, [1, 1, ...mask.shape]), {
    size: [h, w],
    mode: 'bilinear',
    alignCorners: false,
  });
  const x0 = Math.max(x1, 0);
  const xEnd = Math.min(x2 + 1, imW);
  const y0 = Math.max(y1, 0);
  const yEnd = Math.min(y2 + 1, imH);
  // A box outside the image pastes nothing.
  if (xEnd <= x0 || yEnd <= y0) return zeros([imH, imW], { dtype: mask.dtype });
  const inside = F.getitem(resized, [0, 0, slice(y0 - y1, yEnd - y1), slice(x0 - x1, xEnd - x1)]);
  // im_mask[y_0:y_1, x_0:x_1] = inside, on zeros of the image's size.
  return F.pad(inside, [x0, imW - xEnd, y0, imH - yEnd]);
}

/**
 * Each detection's mask [N, 1, M, M] pasted into an image of `imgShape` = [height, width]:
 * [N, 1, height, width]. The masks are padded by `padding` and the boxes (in image coordinates)
 * expanded to match, then truncated to integers, as torchvision.
 */
export function pasteMasksInImage(
  masks: Tensor,
  boxes: Tensor,
  imgShape: readonly [number, number],
  padding = 1,
): Tensor {
  const [paddedMasks, scale] = expandMasks(masks, padding);
  const intBoxes = F.to(expandBoxes(boxes, scale), 'int64');
  const [imH, imW] = imgShape;
  const n = paddedMasks.shape[0]!;
  if (n === 0) return zeros([0, 1, imH, imW], { dtype: masks.dtype });
  const res = Array.from({ length: n }, (_, i) =>
    pasteMaskInImage(F.getitem(paddedMasks, [i, 0]), F.getitem(intBoxes, i), imH, imW),
  );
  return F.unsqueeze(F.stack(res, 0), 1);
}
