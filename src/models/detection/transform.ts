/**
 * torchvision's GeneralizedRCNNTransform (models/detection/transform.py, 0.14): normalises and
 * resizes the images (and their targets) of a detection model, batches them with padding, and
 * maps detections back to the original images.
 */
import { Module } from '../../nn/module.js';
import * as F from '../../ops/functional.js';
import { tensor } from '../../tensor/creation.js';
import { isFloating } from '../../tensor/dtype.js';
import { type Generator, defaultGenerator } from '../../tensor/generator.js';
import { formatShape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { ImageList, type ImageSize } from './image-list.js';
import { pasteMasksInImage } from './paste-masks.js';
import type { Detection, DetectionTarget } from './types.js';

const { slice } = F;

/**
 * The output [height, width] for resizing an image of `[h, w]` so that its short side is
 * `selfMinSize` unless its long side would pass `selfMaxSize`. torchvision computes the scale in
 * float32 tensors (`min(min_size.reciprocal() * self_min_size, max_size.reciprocal() *
 * self_max_size)`) and then the size as floor(side * scale) in double (interpolate's
 * recompute_scale_factor=True); so does this, with Math.fround.
 */
export function resizedSize(imageSize: readonly [number, number], selfMinSize: number, selfMaxSize: number): ImageSize {
  const f = Math.fround;
  const [h, w] = imageSize;
  const minSize = f(Math.min(h, w));
  const maxSize = f(Math.max(h, w));
  const scale = Math.min(f(f(1 / minSize) * f(selfMinSize)), f(f(1 / maxSize) * f(selfMaxSize)));
  return [Math.floor(h * scale), Math.floor(w * scale)];
}

/**
 * Resizes an image [C, H, W] (bilinear, align_corners=False) and its target's masks (nearest), as
 * torchvision's `_resize_image_and_masks`. `fixedSize` is [width, height].
 */
export function resizeImageAndMasks(
  image: Tensor,
  selfMinSize: number,
  selfMaxSize: number,
  target: DetectionTarget | null = null,
  fixedSize: readonly [number, number] | null = null,
): [Tensor, DetectionTarget | null] {
  const imageSize = image.shape.slice(-2) as [number, number];
  const size: ImageSize =
    fixedSize !== null ? [fixedSize[1], fixedSize[0]] : resizedSize(imageSize, selfMinSize, selfMaxSize);
  const resized = F.getitem(F.interpolate(F.unsqueeze(image, 0), { size, mode: 'bilinear', alignCorners: false }), 0);
  if (target === null) return [resized, null];
  if (target.masks === undefined) return [resized, target];
  const masks = F.interpolate(F.to(F.unsqueeze(target.masks, 1), 'float32'), { size });
  return [resized, { ...target, masks: F.to(F.getitem(masks, [slice(), 0]), 'uint8') }];
}

/** Boxes [N, 4] of an image of `originalSize` scaled to `newSize` ([height, width] each). */
export function resizeBoxes(
  boxes: Tensor,
  originalSize: readonly [number, number],
  newSize: readonly [number, number],
): Tensor {
  // Ratios as float32 tensors divide them.
  const [ratioHeight, ratioWidth] = newSize.map((s, i) => Math.fround(Math.fround(s) / Math.fround(originalSize[i]!)));
  const col = (i: number): Tensor => F.getitem(boxes, [slice(), i]);
  return F.stack(
    [F.mul(col(0), ratioWidth!), F.mul(col(1), ratioHeight!), F.mul(col(2), ratioWidth!), F.mul(col(3), ratioHeight!)],
    1,
  );
}

export interface GeneralizedRCNNTransformOptions {
  /** Pad the batch's height and width to multiples of this (32). */
  sizeDivisible?: number;
  /** Resize every image to this [width, height] instead of by minSize/maxSize. */
  fixedSize?: readonly [number, number] | null;
  /** Train mode leaves images at their size (torchvision's `_skip_resize`). */
  skipResize?: boolean;
  /** Draws the train-mode min size when there are several. */
  generator?: Generator;
}

/**
 * Normalises (mean, std), resizes (short side `minSize`, long side at most `maxSize`) and batches
 * images, padded to a multiple of `sizeDivisible`; `postprocess` maps detections back to the
 * original images. As torchvision's `GeneralizedRCNNTransform`.
 * @example
 * const transform = new GeneralizedRCNNTransform(800, 1333, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]).eval();
 * const [imageList] = transform.call([rand([3, 48, 64])]); // tensors [1, 3, 800, 1088], imageSizes [[800, 1066]]
 */
export class GeneralizedRCNNTransform extends Module<
  [Tensor[], (DetectionTarget[] | null)?],
  [ImageList, DetectionTarget[] | null]
> {
  readonly minSize: number[];
  readonly maxSize: number;
  readonly imageMean: number[];
  readonly imageStd: number[];
  readonly sizeDivisible: number;
  readonly fixedSize: readonly [number, number] | null;
  readonly skipResize: boolean;
  readonly generator: Generator;

  constructor(
    minSize: number | readonly number[],
    maxSize: number,
    imageMean: readonly number[],
    imageStd: readonly number[],
    options: GeneralizedRCNNTransformOptions = {},
  ) {
    super();
    this.minSize = typeof minSize === 'number' ? [minSize] : [...minSize];
    this.maxSize = maxSize;
    this.imageMean = [...imageMean];
    this.imageStd = [...imageStd];
    this.sizeDivisible = options.sizeDivisible ?? 32;
    this.fixedSize = options.fixedSize ?? null;
    this.skipResize = options.skipResize ?? false;
    this.generator = options.generator ?? defaultGenerator;
  }

  forward(images: Tensor[], targets: DetectionTarget[] | null = null): [ImageList, DetectionTarget[] | null] {
    if (images.length === 0) {
      throw new RangeError(
        '[GeneralizedRCNNTransform] list index out of range: images is an empty list; give at least one [C, H, W] image',
      );
    }
    // Copies, so that the caller's lists and targets stay as they were.
    const resizedImages = [...images];
    const resizedTargets = targets === null ? null : targets.map((t) => ({ ...t }));
    for (let i = 0; i < resizedImages.length; i++) {
      const image = resizedImages[i]!;
      if (image.ndim !== 3) {
        throw new RangeError(
          `[GeneralizedRCNNTransform] images is expected to be a list of 3d tensors of shape [C, H, W], ` +
            `got ${formatShape(image.shape)}`,
        );
      }
      const [resized, target] = this.resize(this.normalize(image), resizedTargets?.[i] ?? null);
      resizedImages[i] = resized;
      if (resizedTargets !== null && target !== null) resizedTargets[i] = target;
    }
    const imageSizes = resizedImages.map((img) => img.shape.slice(-2) as ImageSize);
    const batched = this.batchImages(resizedImages, this.sizeDivisible);
    return [new ImageList(batched, imageSizes), resizedTargets];
  }

  /** (image - mean) / std per channel, for a floating-point image [C, H, W]. */
  normalize(image: Tensor): Tensor {
    if (!isFloating(image.dtype)) {
      throw new TypeError(
        `[GeneralizedRCNNTransform] Expected input images to be of floating type (in range [0, 1]), ` +
          `but found type ${image.dtype} instead`,
      );
    }
    const channels = image.shape[0]!;
    if (channels !== this.imageMean.length && channels !== 1) {
      throw new RangeError(
        `[GeneralizedRCNNTransform] The size of tensor a (${channels}) must match the size of tensor b ` +
          `(${this.imageMean.length}) at non-singleton dimension 0: the image has ${channels} channels but ` +
          `imageMean has ${this.imageMean.length} values; give images of shape [${this.imageMean.length}, H, W]`,
      );
    }
    const mean = tensor(this.imageMean, { dtype: image.dtype });
    const std = tensor(this.imageStd, { dtype: image.dtype });
    return F.div(F.sub(image, F.reshape(mean, [-1, 1, 1])), F.reshape(std, [-1, 1, 1]));
  }

  /**
   * One of `k` at random, as torchvision's `torch_choice` (a float32 uniform in [0, len(k)),
   * truncated). Draws from this transform's generator.
   */
  torchChoice(k: readonly number[]): number {
    // 24 random bits, as a float32 uniform has, so the product never rounds up to len(k).
    const u = Math.floor(this.generator.uniform() * 2 ** 24) / 2 ** 24;
    return k[Math.trunc(Math.fround(u * k.length))]!;
  }

  resize(image: Tensor, target: DetectionTarget | null = null): [Tensor, DetectionTarget | null] {
    const [h, w] = image.shape.slice(-2) as [number, number];
    let size: number;
    if (this.training) {
      if (this.skipResize) return [image, target];
      size = this.torchChoice(this.minSize);
    } else {
      // torchvision assumes for now that testing uses the largest scale.
      size = this.minSize[this.minSize.length - 1]!;
    }
    const [resized, resizedTarget] = resizeImageAndMasks(image, size, this.maxSize, target, this.fixedSize);
    if (resizedTarget === null) return [resized, null];
    const boxes = resizeBoxes(resizedTarget.boxes, [h, w], resized.shape.slice(-2) as [number, number]);
    return [resized, { ...resizedTarget, boxes }];
  }

  /** The images [C, H, W] in one zero-padded batch, its height and width multiples of `sizeDivisible`. */
  batchImages(images: readonly Tensor[], sizeDivisible = 32): Tensor {
    const maxSize = images[0]!.shape.map((_, axis) => Math.max(...images.map((img) => img.shape[axis]!)));
    const stride = sizeDivisible;
    maxSize[1] = Math.ceil(maxSize[1]! / stride) * stride;
    maxSize[2] = Math.ceil(maxSize[2]! / stride) * stride;
    const padded = images.map((img) => {
      const padding = [0, maxSize[2]! - img.shape[2]!, 0, maxSize[1]! - img.shape[1]!, 0, maxSize[0]! - img.shape[0]!];
      return padding.every((p) => p === 0) ? img : F.pad(img, padding);
    });
    // One image needs no copy into a batch: a new axis is a view.
    return padded.length === 1 ? F.unsqueeze(padded[0]!, 0) : F.stack(padded, 0);
  }

  /**
   * Eval mode: each image's detections in its original coordinates, masks pasted into the
   * original image; train mode: `result` unchanged.
   */
  postprocess(
    result: Detection[],
    imageShapes: readonly (readonly [number, number])[],
    originalImageSizes: readonly (readonly [number, number])[],
  ): Detection[] {
    if (this.training) return result;
    result.forEach((pred, i) => {
      const originalSize = originalImageSizes[i]!;
      const boxes = resizeBoxes(pred.boxes, imageShapes[i]!, originalSize);
      result[i] = { ...pred, boxes };
      if (pred.masks !== undefined) result[i]!.masks = pasteMasksInImage(pred.masks, boxes, originalSize);
    });
    return result;
  }

  override toString(): string {
    const indent = '\n    ';
    const minSize = `(${this.minSize.join(', ')}${this.minSize.length === 1 ? ',' : ''})`;
    return (
      `${this.className}(` +
      `${indent}Normalize(mean=[${this.imageMean.join(', ')}], std=[${this.imageStd.join(', ')}])` +
      `${indent}Resize(min_size=${minSize}, max_size=${this.maxSize}, mode='bilinear')` +
      '\n)'
    );
  }
}
