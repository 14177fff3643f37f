/**
 * The values torchvision's detection models pass between their parts, as TypeScript types.
 * torchvision uses dicts of tensors; the keys are its keys.
 */
import type { Tensor } from '../../tensor/tensor.js';

/** One image's ground truth in train mode: boxes [N,4] (x1,y1,x2,y2, float32), labels [N] (int64). */
export interface DetectionTarget {
  boxes: Tensor;
  labels: Tensor;
  /** Mask R-CNN only: [N,H,W] (uint8 or float32) at the image's size. */
  masks?: Tensor;
}

/** One image's detections in eval mode, in that image's original coordinates. */
export interface Detection {
  /** [K,4] float32, x1,y1,x2,y2. */
  boxes: Tensor;
  /** [K] int64 class index (0 is the background, never returned). */
  labels: Tensor;
  /** [K] float32, sorted in decreasing order. */
  scores: Tensor;
  /** Mask R-CNN only: [K,1,H,W] float32 probabilities at the original image size. */
  masks?: Tensor;
}

/** The losses of a train-mode call, under torchvision's keys (`loss_classifier`, `loss_objectness`, ...). */
export type DetectionLosses = Record<string, Tensor>;
