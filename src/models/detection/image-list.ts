/**
 * torchvision's ImageList: a batch of images padded to one size, with each image's size before
 * padding.
 */
import type { Tensor } from '../../tensor/tensor.js';

/** An image's [height, width]. */
export type ImageSize = [number, number];

export class ImageList {
  /**
   * @param tensors the padded batch, [N, C, H, W]
   * @param imageSizes each image's [height, width] inside the batch, before padding
   */
  constructor(
    readonly tensors: Tensor,
    readonly imageSizes: ImageSize[],
  ) {}
}
