/**
 * torchvision's AnchorGenerator (models/detection/anchor_utils.py, 0.14): anchors of several sizes
 * and aspect ratios (height / width) at every position of every feature map.
 */
import { Module } from '../../nn/module.js';
import * as F from '../../ops/functional.js';
import { arange, tensor } from '../../tensor/creation.js';
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { ImageList } from './image-list.js';

/** Round half to even, as `torch.round`. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Zero-centred anchors [A·S, 4] for every (aspect ratio, scale) pair, rounded, as torchvision's
 * `generate_anchors`. They are a handful of constants made once at construction; the arithmetic
 * is float32's (Math.fround after each step), so they equal torchvision's bit for bit.
 */
export function generateAnchors(scales: readonly number[], aspectRatios: readonly number[]): Tensor {
  const f = Math.fround;
  const rows: number[][] = [];
  for (const ratio of aspectRatios) {
    const hRatio = f(Math.sqrt(f(ratio)));
    const wRatio = f(1 / hRatio);
    for (const scale of scales) {
      const ws = f(wRatio * f(scale));
      const hs = f(hRatio * f(scale));
      rows.push([-ws / 2, -hs / 2, ws / 2, hs / 2].map(roundHalfEven));
    }
  }
  return tensor(rows);
}

/**
 * Anchors for each image of an `ImageList`, over all feature maps, as torchvision's
 * `AnchorGenerator`: `sizes[i]` and `aspectRatios[i]` give feature map i's
 * `sizes[i].length * aspectRatios[i].length` anchors per position.
 * @example
 * const gen = new AnchorGenerator([[32], [64]], [[0.5, 1, 2], [0.5, 1, 2]]);
 * const imageList = new ImageList(zeros([1, 3, 64, 64]), [[64, 64]]);
 * const [anchors] = gen.call(imageList, [zeros([1, 8, 16, 16]), zeros([1, 8, 8, 8])]); // [960, 4]
 */
export class AnchorGenerator extends Module<[ImageList, Tensor[]], Tensor[]> {
  readonly sizes: number[][];
  readonly aspectRatios: number[][];
  /** Not a buffer: torchvision keeps them in a plain list, outside the state dict. */
  cellAnchors: Tensor[];

  constructor(
    sizes: readonly (number | readonly number[])[] = [[128, 256, 512]],
    aspectRatios: readonly (number | readonly number[])[] = [[0.5, 1.0, 2.0]],
  ) {
    super();
    this.sizes = sizes.map((s) => (typeof s === 'number' ? [s] : [...s]));
    this.aspectRatios =
      typeof aspectRatios[0] === 'number'
        ? this.sizes.map(() => aspectRatios as number[])
        : aspectRatios.map((a) => (typeof a === 'number' ? [a] : [...a]));
    this.cellAnchors = this.sizes.map((size, i) => generateAnchors(size, this.aspectRatios[i] ?? []));
  }

  /** Anchors per position of each feature map. */
  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, i) => s.length * (this.aspectRatios[i]?.length ?? 0));
  }

  /** The cell anchors shifted to every position of each [height, width] grid, `strides` pixels apart. */
  gridAnchors(
    gridSizes: readonly (readonly [number, number])[],
    strides: readonly (readonly [number, number])[],
  ): Tensor[] {
    if (gridSizes.length !== strides.length || gridSizes.length !== this.cellAnchors.length) {
      throw new RangeError(
        '[AnchorGenerator] Anchors should be Tuple[Tuple[int]] because each feature map could potentially have ' +
          'different sizes and aspect ratios. There needs to be a match between the number of feature maps passed ' +
          `and the number of sizes / aspect ratios specified (got ${gridSizes.length} feature maps and ` +
          `${this.cellAnchors.length} sizes)`,
      );
    }
    return gridSizes.map(([gridHeight, gridWidth], i) => {
      const [strideHeight, strideWidth] = strides[i]!;
      const baseAnchors = this.cellAnchors[i]!;
      // For each output anchor, [x_center, y_center, x_center, y_center].
      const shiftsX = F.mul(arange(0, gridWidth), strideWidth);
      const shiftsY = F.mul(arange(0, gridHeight), strideHeight);
      const shiftX = F.reshape(F.expand(F.unsqueeze(shiftsX, 0), [gridHeight, gridWidth]), [-1]);
      const shiftY = F.reshape(F.expand(F.unsqueeze(shiftsY, 1), [gridHeight, gridWidth]), [-1]);
      const shifts = F.stack([shiftX, shiftY, shiftX, shiftY], 1);
      // Every (base anchor, position) pair: the zero-centred anchor moved to the position.
      return F.reshape(F.add(F.view(shifts, [-1, 1, 4]), F.view(baseAnchors, [1, -1, 4])), [-1, 4]);
    });
  }

  forward(imageList: ImageList, featureMaps: Tensor[]): Tensor[] {
    const gridSizes = featureMaps.map((m) => m.shape.slice(-2) as [number, number]);
    const [imageHeight, imageWidth] = imageList.tensors.shape.slice(-2) as [number, number];
    const dtype: DType = featureMaps[0]?.dtype ?? 'float32';
    const strides = gridSizes.map(([gh, gw]) => [Math.floor(imageHeight / gh), Math.floor(imageWidth / gw)] as const);
    this.cellAnchors = this.cellAnchors.map((a) => (a.dtype === dtype ? a : F.to(a, dtype)));
    const anchorsOverAllFeatureMaps = this.gridAnchors(gridSizes, strides);
    return imageList.imageSizes.map(() => F.cat(anchorsOverAllFeatureMaps, 0));
  }
}
