/**
 * Colour maps as 256-entry RGB tables (entry `level` at `3 * level`), shared by the CLI's pictures
 * and the browser page; browser-safe (no Node imports).
 *
 * viridis and inferno are matplotlib's: its 256-entry tables sampled at entries 0, 8, 16, ..., 248
 * and 255 (`matplotlib.cm.get_cmap(name)(i)` times 255, rounded; matplotlib 3.6), linearly
 * interpolated in between, which stays within 2 levels of matplotlib's every entry. jet is the
 * piecewise-linear formula `featurefx gradcam` has always drawn with.
 */

export type ColormapName = 'gray' | 'viridis' | 'inferno' | 'jet';

/** matplotlib's viridis at entries 0, 8, ..., 248, 255. */
const VIRIDIS_POINTS =
  '440154 470d60 48186a 482374 472d7b 453781 424086 3e4989 3b528b 375b8d 33638d 2f6b8e 2c728e 297a8e 26828e 23898e ' +
  '21918c 1f988b 1fa088 22a785 28ae80 32b67a 3fbc73 4ec36b 5ec962 70cf57 84d44b 98d83e addc30 c2df23 d8e219 ece51b ' +
  'fde725';

/** matplotlib's inferno at entries 0, 8, ..., 248, 255. */
const INFERNO_POINTS =
  '000004 040312 0b0724 150b37 210c4a 2f0a5b 3d0965 4a0c6b 57106e 64156e 71196e 7d1e6d 8a226a 972766 a32c61 b0315b ' +
  'bc3754 c73e4c d24644 db503b e45a31 eb6628 f1731d f68013 f98e09 fb9d07 fcac11 fbbc21 f9cb35 f5db4c f2ea69 f3f68a ' +
  'fcffa4';

/** The table through `points` (hex colours at entries 0, 8, ..., 248, 255), linear in between. */
function interpolated(points: string): Uint8Array {
  const colours = points.split(' ').map((hex) => [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)));
  const entries = colours.map((_, k) => Math.min(8 * k, 255));
  const table = new Uint8Array(256 * 3);
  for (let level = 0; level < 256; level++) {
    const k = Math.min(level >> 3, colours.length - 2);
    const t = (level - entries[k]!) / (entries[k + 1]! - entries[k]!);
    for (let c = 0; c < 3; c++) {
      const from = colours[k]![c]!;
      table[level * 3 + c] = Math.round(from + t * (colours[k + 1]![c]! - from));
    }
  }
  return table;
}

const GRAY = Uint8Array.from({ length: 256 * 3 }, (_, k) => Math.floor(k / 3));

/** Jet: blue (0) through cyan, yellow, to red (255). */
const JET = Uint8Array.from({ length: 256 * 3 }, (_, k) => {
  const t = Math.floor(k / 3) / 255;
  const centre = [3, 2, 1][k % 3]!;
  return Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - centre))));
});

export const COLORMAPS: Readonly<Record<ColormapName, Uint8Array>> = {
  gray: GRAY,
  viridis: interpolated(VIRIDIS_POINTS),
  inferno: interpolated(INFERNO_POINTS),
  jet: JET,
};

/** The names in the order a menu lists them. */
export const COLORMAP_NAMES = Object.keys(COLORMAPS) as ColormapName[];
