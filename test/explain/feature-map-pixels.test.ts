/**
 * The shared drawing of src/explain/: a channel as pixels of a colour map (min-max scaled on its
 * own, NaN and infinities placed), its statistics, the colour maps against matplotlib's, and the
 * Grad-CAM heat map over an image.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COLORMAPS, type ColormapName } from '../../src/explain/colormaps.js';
import { channelStats, featureMapPixels } from '../../src/explain/feature-map-pixels.js';
import { heatOverlayPixels } from '../../src/explain/heat-overlay-pixels.js';

/** The RGB of each pixel of RGBA `pixels`. */
function rgbOf(pixels: Uint8ClampedArray): number[][] {
  return Array.from({ length: pixels.length / 4 }, (_, i) => {
    assert.equal(pixels[i * 4 + 3], 255, `pixel ${i} is opaque`);
    return Array.from(pixels.subarray(i * 4, i * 4 + 3));
  });
}

function entry(colormap: ColormapName, level: number): number[] {
  return Array.from(COLORMAPS[colormap].subarray(level * 3, level * 3 + 3));
}

test('a channel is min-max scaled on its own: min -> the first entry, max -> the last, rounded in between', () => {
  // Two channels of 2 x 2 after 1 leading value; the second channel is drawn, from offset 5.
  const data = Float32Array.from([99, 0, 0, 0, 0, -2, 0, 2, 1]);
  for (const colormap of ['gray', 'viridis', 'inferno', 'jet'] as const) {
    const levels = [0, 128, 255, 191]; // round(255 * 2/4) = 128, round(255 * 3/4) = 191
    assert.deepEqual(
      rgbOf(featureMapPixels(data, 5, 2, 2, colormap)),
      levels.map((l) => entry(colormap, l)),
      colormap,
    );
  }
  assert.deepEqual(
    rgbOf(featureMapPixels(data, 5, 2, 2, 'gray')),
    [0, 128, 255, 191].map((l) => [l, l, l]),
  );
});

test('a constant channel is all level 0', () => {
  const pixels = featureMapPixels(new Float32Array(6).fill(3.5), 0, 2, 3, 'viridis');
  assert.deepEqual(
    rgbOf(pixels),
    Array.from({ length: 6 }, () => entry('viridis', 0)),
  );
});

test('NaN draws as level 0, infinities at the ends, and they do not stretch the finite values', () => {
  const data = Float32Array.from([NaN, -Infinity, Infinity, 1, 3, 2]);
  assert.deepEqual(
    rgbOf(featureMapPixels(data, 0, 2, 3, 'gray')).map((p) => p[0]),
    [0, 0, 255, 0, 255, 128],
  );
  // No finite value at all: still a picture, not NaN pixels.
  assert.deepEqual(
    rgbOf(featureMapPixels(Float32Array.from([NaN, Infinity]), 0, 1, 2, 'gray')).map((p) => p[0]),
    [0, 255],
  );
});

test('featureMapPixels refuses a map that does not fit in the data', () => {
  assert.throws(() => featureMapPixels(new Float32Array(8), 4, 2, 3, 'gray'), {
    name: 'RangeError',
    message:
      'featureMapPixels: a 2 x 3 map from offset 4 does not fit in 8 values; pass the offset of a channel ' +
      '(channel * height * width)',
  });
});

test('channelStats equals a direct computation in double precision (population std)', () => {
  const data = Float32Array.from({ length: 200 }, (_, i) => Math.sin(i * 0.37) * 3 + 0.5);
  const values = Array.from(data.subarray(50, 150));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
  const stats = channelStats(data, 50, 100);
  assert.equal(stats.min, Math.min(...values));
  assert.equal(stats.max, Math.max(...values));
  assert.ok(Math.abs(stats.mean - mean) < 1e-12, `${stats.mean} vs ${mean}`);
  assert.ok(Math.abs(stats.std - std) < 1e-12, `${stats.std} vs ${std}`);
  assert.deepEqual(channelStats(Float32Array.from([1, NaN, 2]), 0, 3), { min: NaN, max: NaN, mean: NaN, std: NaN });
  assert.throws(() => channelStats(data, 150, 100), {
    name: 'RangeError',
    message:
      'channelStats: 100 values from offset 150 do not fit in 200 values; pass a non-empty range inside the data',
  });
});

test("viridis and inferno are matplotlib's within 2 levels; its sampled entries exactly", () => {
  // /usr/bin/python3 -c "from matplotlib import cm; print(cm.get_cmap('viridis')([0, 100, 128, 200, 255]) * 255)"
  // (matplotlib 3.6.3; entries 0, 128 and 255 are among the sampled ones)
  const matplotlib: Record<'viridis' | 'inferno', [number, number[], boolean][]> = {
    viridis: [
      [0, [68.09, 1.24, 84.0], true],
      [100, [42.49, 118.25, 142.32], false],
      [128, [32.53, 144.57, 140.39], true],
      [200, [112.23, 206.84, 86.95], true],
      [255, [253.28, 231.07, 36.7], true],
    ],
    inferno: [
      [0, [0.37, 0.12, 3.54], true],
      [100, [144.29, 36.61, 104.11], false],
      [200, [251.42, 157.02, 6.53], true],
      [255, [252.03, 254.58, 164.46], true],
    ],
  };
  for (const [name, rows] of Object.entries(matplotlib) as ['viridis' | 'inferno', [number, number[], boolean][]][])
    for (const [level, rgb, sampled] of rows)
      entry(name, level).forEach((v, c) =>
        sampled
          ? assert.equal(v, Math.round(rgb[c]!), `${name}[${level}][${c}]`)
          : assert.ok(Math.abs(v - rgb[c]!) <= 2, `${name}[${level}][${c}]: ${v} vs ${rgb[c]}`),
      );
  assert.deepEqual(entry('gray', 77), [77, 77, 77]);
  assert.deepEqual(
    [entry('jet', 0), entry('jet', 255)],
    [
      [0, 0, 128],
      [128, 0, 0],
    ],
  );
});

test('heatOverlayPixels blends jet(round(255 * cam)) over the image at the given opacity', () => {
  const rgb = Uint8Array.from([10, 20, 30, 200, 100, 0, 7, 7, 7]);
  const cam = Float32Array.from([0, 1, NaN]);
  assert.deepEqual(heatOverlayPixels(rgb, cam, 0), rgb);
  assert.deepEqual(Array.from(heatOverlayPixels(rgb, cam, 1)), [
    ...entry('jet', 0),
    ...entry('jet', 255),
    ...entry('jet', 0),
  ]);
  const half = Array.from(heatOverlayPixels(rgb, Float32Array.from([0.5, 0.5, 0.5]), 0.5));
  const jetMid = entry('jet', 128);
  assert.deepEqual(
    half,
    Array.from(rgb, (v, i) => Math.round(0.5 * v + 0.5 * jetMid[i % 3]!)),
  );
  assert.throws(() => heatOverlayPixels(rgb, new Float32Array(2), 0.5), {
    name: 'RangeError',
    message:
      'heatOverlayPixels: 9 RGB bytes do not match a map of 2 values; pass the image as [H, W, 3] bytes and the ' +
      'map as [H, W] at the same size',
  });
});
