/**
 * One channel of a feature map as pixels, and its statistics: the single definition of "a channel
 * as a picture" that `featurefx visualize` and the browser page both draw with. Browser-safe.
 */
import { COLORMAPS, type ColormapName } from './colormaps.js';

export interface ChannelStats {
  min: number;
  max: number;
  mean: number;
  /** The population standard deviation (numpy's `std()`, torch's `std(unbiased=False)`). */
  std: number;
}

/**
 * The `height` x `width` values of `data` from `offset` (one channel, row-major) as RGBA pixels
 * (alpha 255) of `colormap`, for an `ImageData` or a raw image. The channel is scaled on its own:
 * level = round(255 * (v - min) / (max - min)), min and max taken over its finite values, so the
 * smallest value gets the colour map's first entry and the largest its last; a constant channel is
 * all level 0. NaN draws as level 0 (like the smallest value: a picture has no colour for "not a
 * number", and the stats show it), -Infinity as 0 and +Infinity as 255.
 */
export function featureMapPixels(
  data: Float32Array,
  offset: number,
  height: number,
  width: number,
  colormap: ColormapName,
): Uint8ClampedArray<ArrayBuffer> {
  const length = height * width;
  if (offset < 0 || offset + length > data.length)
    throw new RangeError(
      `featureMapPixels: a ${height} x ${width} map from offset ${offset} does not fit in ${data.length} values; ` +
        'pass the offset of a channel (channel * height * width)',
    );
  const table = COLORMAPS[colormap];
  let min = Infinity;
  let max = -Infinity;
  for (let i = offset; i < offset + length; i++) {
    const v = data[i]!;
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const range = max - min;
  const pixels = new Uint8ClampedArray(length * 4);
  for (let i = 0; i < length; i++) {
    const v = data[offset + i]!;
    // NaN fails every comparison and lands on 0 with -Infinity; +Infinity is above every finite max.
    const level = v > max ? 255 : v >= min && range > 0 ? Math.round((255 * (v - min)) / range) : 0;
    pixels[i * 4] = table[level * 3]!;
    pixels[i * 4 + 1] = table[level * 3 + 1]!;
    pixels[i * 4 + 2] = table[level * 3 + 2]!;
    pixels[i * 4 + 3] = 255;
  }
  return pixels;
}

/**
 * Min, max, mean and standard deviation of `length` values of `data` from `offset`, computed in
 * double precision; a NaN makes all four NaN, as in PyTorch.
 */
export function channelStats(data: Float32Array, offset: number, length: number): ChannelStats {
  if (length <= 0 || offset < 0 || offset + length > data.length)
    throw new RangeError(
      `channelStats: ${length} values from offset ${offset} do not fit in ${data.length} values; ` +
        'pass a non-empty range inside the data',
    );
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = offset; i < offset + length; i++) {
    const v = data[i]!;
    if (Number.isNaN(v)) return { min: NaN, max: NaN, mean: NaN, std: NaN };
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const mean = sum / length;
  let squares = 0;
  for (let i = offset; i < offset + length; i++) squares += (data[i]! - mean) ** 2;
  return { min, max, mean, std: Math.sqrt(squares / length) };
}
