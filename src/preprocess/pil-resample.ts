/**
 * The taps and fixed-point weights with which Pillow (9.x, src/libImaging/Resample.c) resizes
 * 8-bit images along one axis: `precompute_coeffs` in float64, then `normalize_coeffs_8bpc`.
 * Each output pixel is `clip8((1 << 21) + sum(pixel[tap] * weight))`, `clip8` being `>> 22`
 * clamped to 0..255; the integer sums make the result exact, whatever order they are added in.
 * The arithmetic below keeps Pillow's operation order so that every float64 rounds alike.
 */

/** Pillow's `PRECISION_BITS` for 8-bit images: 32 - 8 - 2. */
export const PRECISION_BITS = 22;

export type ResampleFilter = 'bilinear' | 'bicubic';

interface Filter {
  weight: (x: number) => number;
  support: number;
}

// Pillow's `bicubic_filter` with a = -0.5 (Keys' kernel), written as Pillow writes it.
const CUBIC_A = -0.5;

const FILTERS: Record<ResampleFilter, Filter> = {
  bilinear: {
    weight: (x) => {
      const t = Math.abs(x);
      return t < 1 ? 1 - t : 0;
    },
    support: 1,
  },
  bicubic: {
    weight: (x) => {
      const t = Math.abs(x);
      if (t < 1) return ((CUBIC_A + 2) * t - (CUBIC_A + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * CUBIC_A;
      return 0;
    },
    support: 2,
  },
};

/** The taps of `count` consecutive output pixels, each padded to `taps` with zero weights. */
export interface ResampleTaps {
  /** Taps per output pixel: the most any of them has. */
  taps: number;
  /** Input indices, `[count, taps]`; padding repeats the pixel's first tap. */
  indices: Int32Array;
  /** Fixed-point weights (scaled by 2^PRECISION_BITS), `[count, taps]`; 0 for padding. */
  weights: Int32Array;
}

/** C's `(int)` of a double: truncation toward zero. */
const toInt = Math.trunc;

/**
 * Pillow's coefficients for resizing `inSize` pixels to `outSize` along one axis (the whole input,
 * as `Image.resize` without a box), for the output pixels `first` .. `first + count - 1`. Those
 * outside 0 .. `outSize - 1` (a crop larger than the image) get no weight, hence the value 0:
 * torchvision's zero padding.
 */
export function resampleTaps(
  inSize: number,
  outSize: number,
  filter: ResampleFilter,
  first: number,
  count: number,
): ResampleTaps {
  const { weight, support: filterSupport } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  // Downscaling stretches the filter over `scale` input pixels (antialiasing).
  const support = filterSupport * filterScale;
  const ss = 1 / filterScale;
  const bounds: [number, number][] = [];
  const coeffs: number[][] = [];
  for (let xx = first; xx < first + count; xx++) {
    if (xx < 0 || xx >= outSize) {
      bounds.push([0, 0]);
      coeffs.push([]);
      continue;
    }
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(toInt(center - support + 0.5), 0);
    const xmax = Math.min(toInt(center + support + 0.5), inSize) - xmin;
    const k: number[] = [];
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = weight((x + xmin - center + 0.5) * ss);
      k.push(w);
      ww += w;
    }
    coeffs.push(ww === 0 ? k : k.map((w) => w / ww));
    bounds.push([xmin, xmax]);
  }
  const taps = Math.max(1, ...bounds.map(([, n]) => n));
  const indices = new Int32Array(count * taps);
  const weights = new Int32Array(count * taps);
  const one = 2 ** PRECISION_BITS;
  for (let i = 0; i < count; i++) {
    const [xmin] = bounds[i]!;
    const k = coeffs[i]!;
    indices.fill(xmin, i * taps, (i + 1) * taps);
    for (let x = 0; x < k.length; x++) {
      indices[i * taps + x] = xmin + x;
      // normalize_coeffs_8bpc: round half away from zero, through C's truncating (int).
      weights[i * taps + x] = k[x]! < 0 ? toInt(-0.5 + k[x]! * one) : toInt(0.5 + k[x]! * one);
    }
  }
  return { taps, indices, weights };
}
