/**
 * The gradient of roi_align with respect to its input, written with ops, following torchvision's
 * roi_align_backward: every bilinear sample of every bin sends grad * weight / count to its four
 * corner pixels. Sample positions, corner indices and weights are tensors over all boxes at once,
 * and index_put (accumulating) adds them into the input, channels last.
 *
 * Bilinear weights are separable: a sample at (y, x) weighs row r by wy(r) and column c by wx(c),
 * and torchvision's validity test (-1 <= y <= H and -1 <= x <= W) is a product too. So each axis
 * gives two taps (low and high row or column) per sample, and the four corners are their
 * products.
 */
import type { Tensor } from '../../tensor/tensor.js';
import { add } from '../add.js';
import { amax } from '../amax.js';
import { arange } from '../arange.js';
import { clamp } from '../clamp.js';
import { div } from '../div.js';
import { ge } from '../ge.js';
import { getitem, slice } from '../getitem.js';
import { indexPut } from '../index-put.js';
import { le } from '../le.js';
import { logicalAnd } from '../logical.js';
import { lt } from '../lt.js';
import { mul } from '../mul.js';
import { newZeros } from '../new-zeros.js';
import { permute } from '../permute.js';
import { relu } from '../relu.js';
import { ceil, floor } from '../rounding.js';
import { reshape } from '../reshape.js';
import { sub } from '../sub.js';
import { to } from '../to.js';
import { unsqueeze } from '../unsqueeze.js';
import { where } from '../where.js';

/** Samples per bin along one axis: the fixed ratio, or per box ceil(box size / bins) when adaptive. */
type Grid = number | Tensor;

/** One tap of every sample along an axis, [K, bins, samples] each. */
interface Tap {
  /** The row (or column), int64. */
  index: Tensor;
  /** Its weight: zero for a sample outside the input or past its box's grid. */
  weight: Tensor;
}

/**
 * One axis of torchvision's roi_align_backward for boxes spanning `start` + `binSize` * bins: where
 * its samples fall (start + ph * bin + (iy + 0.5) * bin / grid, torchvision's order of operations)
 * and bilinear_interpolate_gradient's taps for them.
 */
function axisTaps(
  start: Tensor,
  binSize: Tensor,
  bins: number,
  samples: number,
  grid: Grid,
  size: number,
): [low: Tap, high: Tap] {
  const column = (t: Tensor): Tensor => reshape(t, [-1, 1, 1]);
  const bin = reshape(to(arange(bins), start.dtype), [1, bins, 1]);
  const sample = reshape(to(arange(samples), start.dtype), [1, 1, samples]);
  const perBox = typeof grid === 'number' ? grid : column(grid);
  // A box of an empty grid (an empty or inverted box with `aligned`) has no samples: its positions
  // are computed with a grid of 1, to stay finite, and weigh zero.
  const divisor = typeof perBox === 'number' ? perBox : clamp(perBox, { min: 1 });
  const at = add(add(column(start), mul(bin, column(binSize))), div(mul(add(sample, 0.5), column(binSize)), divisor));
  let inside = logicalAnd(ge(at, -1), le(at, size));
  if (typeof perBox !== 'number') inside = logicalAnd(inside, lt(sample, perBox));
  const valid = to(inside, at.dtype);
  const from0 = relu(at);
  const floored = floor(from0);
  // At or past the last row, both taps are the last row, with all the weight on the low one.
  const last = ge(floored, size - 1);
  const low = where(last, size - 1, floored);
  const fraction = where(last, 0, sub(from0, low));
  const high = clamp(add(low, 1), { max: size - 1 });
  return [
    { index: to(low, 'int64'), weight: mul(sub(1, fraction), valid) },
    { index: to(high, 'int64'), weight: mul(fraction, valid) },
  ];
}

export function roiAlignInputGrad(
  grad: Tensor,
  input: Tensor,
  rois: Tensor,
  [pooledH, pooledW]: [number, number],
  options: { spatialScale: number; samplingRatio: number; aligned: boolean },
): Tensor {
  const { spatialScale, samplingRatio, aligned } = options;
  const [n, c, h, w] = input.shape as [number, number, number, number];
  const k = rois.shape[0]!;
  const column = (i: number): Tensor => getitem(rois, [slice(), i]);
  const offset = aligned ? 0.5 : 0;
  const extent = (lo: number, hi: number): { start: Tensor; size: Tensor } => {
    const start = sub(mul(column(lo), spatialScale), offset);
    const size = sub(sub(mul(column(hi), spatialScale), offset), start);
    // Without `aligned`, torchvision grows boxes to at least one pixel.
    return { start, size: aligned ? size : clamp(size, { min: 1 }) };
  };
  const ys = extent(2, 4);
  const xs = extent(1, 3);
  // Adaptive sampling takes ceil(size / bins) samples per bin, per box: the tensors hold the most
  // any box takes (read once, as torchvision reads sizes), and a box's extra samples weigh zero.
  const adaptive = samplingRatio <= 0;
  const gridH: Grid = adaptive ? ceil(div(ys.size, pooledH)) : samplingRatio;
  const gridW: Grid = adaptive ? ceil(div(xs.size, pooledW)) : samplingRatio;
  const most = (g: Grid): number => (typeof g === 'number' ? g : k === 0 ? 0 : Math.max(amax(g).item(), 0));
  const [sh, sw] = [most(gridH), most(gridW)];
  if (sh === 0 || sw === 0) return newZeros(grad, [n, c, h, w]);
  const rows = axisTaps(ys.start, div(ys.size, pooledH), pooledH, sh, gridH, h);
  const cols = axisTaps(xs.start, div(xs.size, pooledW), pooledW, sw, gridW, w);
  const rowsAt = (t: Tensor): Tensor => reshape(t, [k, pooledH, sh, 1, 1]);
  const colsAt = (t: Tensor): Tensor => reshape(t, [k, 1, 1, pooledW, sw]);
  const count =
    typeof gridH === 'number' || typeof gridW === 'number'
      ? samplingRatio * samplingRatio
      : reshape(clamp(mul(gridH, gridW), { min: 1 }), [k, 1, 1, 1, 1]);
  // Channels last, so that each sample tap adds one C-vector: [K, h, 1, w, 1, C].
  const binGrad = unsqueeze(unsqueeze(permute(grad, [0, 2, 3, 1]), 2), 4);
  const batch = reshape(to(column(0), 'int64'), [k, 1, 1, 1, 1]);
  // One scatter per corner (low or high row, low or high column): four of K * h * w * samples²
  // C-vectors, rather than all at once.
  let summed = newZeros(grad, [n, h, w, c]);
  for (const row of rows) {
    for (const col of cols) {
      const weight = div(mul(rowsAt(row.weight), colsAt(col.weight)), count);
      const values = mul(binGrad, unsqueeze(weight, -1));
      summed = indexPut(summed, [batch, rowsAt(row.index), colsAt(col.index)], values, true);
    }
  }
  return permute(summed, [0, 3, 1, 2]);
}
