import type { TensorMeta } from '../tensor/tensor.js';
import { describe, expectDType, expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

/**
 * Non-maximum suppression, as `torchvision.ops.nms`: the indices (int64) of the boxes kept, by
 * decreasing score, dropping every box whose IoU with a kept higher-scoring box is above
 * `iouThreshold`. Boxes are [N, 4] as (x1, y1, x2, y2) with 0 <= x1 < x2 and 0 <= y1 < y2.
 * Equal scores keep the lower index first, as torchvision's stable sort.
 *
 * The number kept depends on the data: the shape rule gives N, what shape propagation sees.
 * @example
 * F.nms(tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]]), tensor([0.9, 0.8, 0.7]), 0.5); // [0, 2]
 */
export const nms = defineOp({
  name: 'nms',
  infer: (boxes: TensorMeta, scores: TensorMeta, iouThreshold: number): TensorMeta => {
    expectTensor('nms', 'boxes', boxes);
    expectTensor('nms', 'scores', scores);
    // ONNX's NonMaxSuppression is float32 only.
    expectDType('nms', 'boxes', boxes, ['float32']);
    expectDType('nms', 'scores', scores, ['float32']);
    if (boxes.shape.length !== 2) {
      throw new RangeError(`[nms] boxes should be a 2d tensor, got ${boxes.shape.length}D`);
    }
    if (boxes.shape[1] !== 4)
      throw new RangeError(`[nms] boxes should have 4 elements in dimension 1, got ${boxes.shape[1]}`);
    if (scores.shape.length !== 1)
      throw new RangeError(`[nms] scores should be a 1d tensor, got ${scores.shape.length}D`);
    if (boxes.shape[0] !== scores.shape[0]) {
      throw new RangeError(
        `[nms] boxes and scores should have same number of elements in dimension 0, got ${boxes.shape[0]} and ${scores.shape[0]}`,
      );
    }
    if (typeof iouThreshold !== 'number' || Number.isNaN(iouThreshold)) {
      throw new TypeError(`[nms] iouThreshold must be a number, got ${describe(iouThreshold)}`);
    }
    return { dtype: 'int64', shape: [boxes.shape[0]!] };
  },
  lower: (ctx, boxes, scores, iouThreshold) => {
    // ONNX reads any two opposite corners; torchvision computes with (x1, y1, x2, y2) as given, so a
    // box with x2 < x1 or y2 < y1 has no intersection with any box and never suppresses nor is
    // suppressed. Moving its far corner onto the near one makes it an empty box, which ONNX Runtime
    // likewise never suppresses.
    const near = ctx.emit('Slice', [boxes, ctx.int64s([0]), ctx.int64s([2]), ctx.int64s([1])]);
    const far = ctx.emit('Slice', [boxes, ctx.int64s([2]), ctx.int64s([4]), ctx.int64s([1])]);
    const corners = ctx.emit('Concat', [near, ctx.emit('Max', [near, far])], { axis: 1 });
    const everyBox = ctx.emit('Shape', [boxes], { start: 0, end: 1 });
    const selected = ctx.emit('NonMaxSuppression', [
      ctx.emit('Unsqueeze', [corners, ctx.int64s([0])]),
      ctx.emit('Unsqueeze', [scores, ctx.int64s([0, 1])]),
      everyBox,
      ctx.constant(float32AtOrBelow(iouThreshold), 'float32'),
    ]);
    // Rows are (batch, class, box).
    return ctx.emit('Gather', [selected, ctx.constant(2, 'int64')], { axis: 1 });
  },
  // An integer result: no gradient flows through it.
  differentiable: false,
});

/**
 * torchvision suppresses when a float32 IoU is above the float64 threshold; ONNX compares in
 * float32. The largest float32 not above the threshold makes the two comparisons agree for every
 * float32 IoU (0.4 would round up to float32(0.4), and an IoU of exactly that would be kept).
 */
function float32AtOrBelow(threshold: number): number {
  const nearest = Math.fround(threshold);
  if (nearest <= threshold) return nearest;
  const bits = new Float32Array([nearest]);
  const asInt = new Int32Array(bits.buffer);
  // One ulp towards minus infinity: for a positive float the bit pattern minus one, for a negative one plus one.
  asInt[0]! += nearest > 0 ? -1 : 1;
  return bits[0]!;
}
