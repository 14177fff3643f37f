/**
 * The gradient of roi_align with respect to its input, written with ops, following torchvision's
 * roi_align_backward: every bilinear sample of every bin sends grad * weight / count to its four
 * corner pixels. Sample positions, corner indices and weights are tensors over all boxes at once,
 * and one scatter_add puts them into the flattened input.
 *
 * Bilinear weights are separable: a sample at (y, x) weighs row r by wy(r) and column c by wx(c),
 * and torchvision's validity test (-1 <= y <= H and -1 <= x <= W) is a product too. So each axis
 * gives two taps (low and high row or column) per sample, and the four corners are their
 * products.
 */
import { AutogradError } from '../../errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { add } from '../add.js';
import { arange } from '../arange.js';
import { stack } from '../cat.js';
import { clamp } from '../clamp.js';
import { div } from '../div.js';
import { expand } from '../expand.js';
import { floor } from '../floor.js';
import { ge } from '../ge.js';
import { getitem, slice } from '../getitem.js';
import { le } from '../le.js';
import { logicalAnd } from '../logical.js';
import { mul } from '../mul.js';
import { newZeros } from '../new-zeros.js';
import { relu } from '../relu.js';
import { reshape } from '../reshape.js';
import { scatterAdd } from '../scatter-add.js';
import { sub } from '../sub.js';
import { to } from '../to.js';
import { where } from '../where.js';

interface Taps {
  /** [K, bins, samples, 2]: the low and high row (or column) of each sample, int64. */
  index: Tensor;
  /** [K, bins, samples, 2]: their weights, zero for a sample outside the input. */
  weight: Tensor;
}

/** torchvision's bilinear_interpolate_gradient along one axis, for positions `at` [K, bins * samples]. */
function taps(at: Tensor, size: number, bins: number, samples: number): Taps {
  const inside = to(logicalAnd(ge(at, -1), le(at, size)), at.dtype);
  const from0 = relu(at);
  const floored = floor(from0);
  // At or past the last row, both taps are the last row, with all the weight on the low one.
  const last = ge(floored, size - 1);
  const low = where(last, size - 1, floored);
  const fraction = where(last, 0, sub(from0, low));
  const high = clamp(add(low, 1), { max: size - 1 });
  const shape = [at.shape[0]!, bins, samples, 2];
  return {
    index: reshape(to(stack([low, high], -1), 'int64'), shape),
    weight: reshape(stack([mul(sub(1, fraction), inside), mul(fraction, inside)], -1), shape),
  };
}

/** Sample positions along one axis, [K, bins * samples]: bin centres of a regular grid over each box. */
function positions(start: Tensor, binSize: Tensor, bins: number, samples: number): Tensor {
  // Sample iy of bin ph sits at start + (ph + (iy + 0.5) / samples) * binSize = start + (j + 0.5) / samples * binSize.
  const steps = div(add(to(arange(bins * samples), start.dtype), 0.5), samples);
  return add(reshape(start, [-1, 1]), mul(reshape(binSize, [-1, 1]), reshape(steps, [1, -1])));
}

export function roiAlignInputGrad(
  grad: Tensor,
  input: Tensor,
  rois: Tensor,
  [pooledH, pooledW]: [number, number],
  options: { spatialScale: number; samplingRatio: number; aligned: boolean },
): Tensor {
  const { spatialScale, samplingRatio: s, aligned } = options;
  if (s <= 0) {
    throw new AutogradError(
      '[roi_align] backward needs a fixed samplingRatio > 0 (the detection models use 2); ' +
        'adaptive sampling (samplingRatio -1 or 0) takes a different number of samples per box',
    );
  }
  const [n, c, h, w] = input.shape as [number, number, number, number];
  const k = rois.shape[0]!;
  const column = (i: number): Tensor => getitem(rois, [slice(), i]);
  const offset = aligned ? 0.5 : 0;
  const extent = (lo: number, hi: number, bins: number): { start: Tensor; binSize: Tensor } => {
    const start = sub(mul(column(lo), spatialScale), offset);
    const size = sub(sub(mul(column(hi), spatialScale), offset), start);
    // Without `aligned`, torchvision grows boxes to at least one pixel.
    return { start, binSize: div(aligned ? size : clamp(size, { min: 1 }), bins) };
  };
  const ys = extent(2, 4, pooledH);
  const xs = extent(1, 3, pooledW);
  const rows = taps(positions(ys.start, ys.binSize, pooledH, s), h, pooledH, s);
  const cols = taps(positions(xs.start, xs.binSize, pooledW, s), w, pooledW, s);
  const rowsAt = (t: Tensor): Tensor => reshape(t, [k, 1, pooledH, s, 2, 1, 1, 1]);
  const colsAt = (t: Tensor): Tensor => reshape(t, [k, 1, 1, 1, 1, pooledW, s, 2]);
  const weight = div(mul(rowsAt(rows.weight), colsAt(cols.weight)), s * s);
  const updates = mul(reshape(grad, [k, c, pooledH, 1, 1, pooledW, 1, 1]), weight);
  // Flat positions in the [N, C, H, W] input: ((batch * C + channel) * H + row) * W + column.
  const batch = reshape(to(column(0), 'int64'), [k, 1, 1, 1, 1, 1, 1, 1]);
  const channel = reshape(arange(c), [1, c, 1, 1, 1, 1, 1, 1]);
  const plane = add(mul(rowsAt(rows.index), w), colsAt(cols.index));
  const flat = add(mul(add(mul(batch, c), channel), h * w), plane);
  const full = updates.shape as number[];
  const index = reshape(expand(flat, full), [-1]);
  const summed = scatterAdd(newZeros(grad, [n * c * h * w]), 0, index, reshape(updates, [-1]));
  return reshape(summed, [n, c, h, w]);
}
