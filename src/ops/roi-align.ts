import { formatShape } from '../tensor/shape.js';
import { Tensor, type TensorMeta } from '../tensor/tensor.js';
import { add } from './add.js';
import { cat } from './cat.js';
import { describe, expectFloat, expectRank, expectSameDType, expectTensor, pair } from './helpers/checks.js';
import { roiAlignInputGrad } from './helpers/roi-align-grad.js';
import { newZeros } from './new-zeros.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';

export interface RoiAlignOptions {
  /** Scale from box coordinates to input coordinates (1 / the feature map's stride); default 1. */
  spatialScale?: number;
  /** Samples per bin along each axis; -1 or 0 (default -1) takes ceil(roi size / output size). */
  samplingRatio?: number;
  /** Shift boxes by -0.5 pixel, to align them with the pixel centres (default false). */
  aligned?: boolean;
}

/**
 * Eager calls check the batch indices, which ONNX Runtime would refuse with a message naming
 * neither the op nor the fix (torchvision reads past the input).
 */
function checkBatchIndices(rois: Tensor, batch: number): void {
  const data = rois.data as Float32Array | Float64Array;
  for (let k = 0; k < rois.shape[0]!; k++) {
    // Read as an integer by truncation, as torchvision and ONNX's Cast do.
    const index = data[k * 5]!;
    if (!(Math.trunc(index) >= 0 && Math.trunc(index) < batch)) {
      throw new RangeError(
        `[roi_align] box ${k} has batch index ${index}, but input has a batch of ${batch}; ` +
          `the first column of boxes must be an image index in [0, ${batch})`,
      );
    }
  }
}

function resolveOptions(options: RoiAlignOptions): Required<RoiAlignOptions> {
  const { spatialScale = 1, samplingRatio = -1, aligned = false } = options;
  if (typeof spatialScale !== 'number' || !(spatialScale > 0)) {
    throw new RangeError(`[roi_align] spatialScale must be a positive number, got ${describe(spatialScale)}`);
  }
  if (!Number.isInteger(samplingRatio) || samplingRatio < -1) {
    throw new RangeError(`[roi_align] samplingRatio must be an integer >= -1, got ${describe(samplingRatio)}`);
  }
  return { spatialScale, samplingRatio, aligned: aligned === true };
}

/**
 * The op behind `roiAlign`, on boxes already as rows (batch index, x1, y1, x2, y2): torchvision's
 * `torch.ops.torchvision.roi_align`, lowered to ONNX's RoiAlign.
 */
export const roiAlignRois = defineOp({
  name: 'roi_align',
  infer: (
    input: TensorMeta,
    rois: TensorMeta,
    outputSize: number | readonly [number, number],
    options: RoiAlignOptions = {},
  ): TensorMeta => {
    expectTensor('roi_align', 'input', input);
    expectFloat('roi_align', 'input', input);
    expectRank('roi_align', 'input', input, [4], 'expected (N, C, H, W)');
    expectTensor('roi_align', 'boxes', rois);
    if (rois.shape.length !== 2 || rois.shape[1] !== 5) {
      throw new RangeError(
        `[roi_align] the boxes tensor shape is not correct as Tensor[K, 5], got ${formatShape(rois.shape)}; ` +
          'give rows (batch index, x1, y1, x2, y2) or a list of per-image [L, 4] tensors',
      );
    }
    expectSameDType('roi_align', { input, boxes: rois });
    const [h, w] = pair('roi_align', 'outputSize', outputSize, 1);
    resolveOptions(options);
    if (rois instanceof Tensor) checkBatchIndices(rois, input.shape[0]!);
    return { dtype: input.dtype, shape: [rois.shape[0]!, input.shape[1]!, h, w] };
  },
  lower: (ctx, input, rois, outputSize, options = {}) => {
    const [h, w] = pair('roi_align', 'outputSize', outputSize, 1);
    const { spatialScale, samplingRatio, aligned } = resolveOptions(options);
    const batch = ctx.emit('Gather', [rois, ctx.constant(0, 'int64')], { axis: 1 });
    const batchIndices = ctx.cast({ kind: 'value', name: batch, dtype: rois.dtype, shape: [rois.shape[0]!] }, 'int64');
    const corners = ctx.emit('Slice', [rois, ctx.int64s([1]), ctx.int64s([5]), ctx.int64s([1])]);
    return ctx.emit('RoiAlign', [input, corners, batchIndices], {
      mode: 'avg',
      output_height: h,
      output_width: w,
      // torchvision reads any ratio <= 0 as adaptive, ONNX only 0.
      sampling_ratio: Math.max(samplingRatio, 0),
      spatial_scale: { float: spatialScale },
      coordinate_transformation_mode: aligned ? 'half_pixel' : 'output_half_pixel',
    });
  },
  backward: ({ grad, args: [input, rois, outputSize, options = {}] }): ArgumentGradients => [
    roiAlignInputGrad(grad, input, rois, pair('roi_align', 'outputSize', outputSize, 1), resolveOptions(options)),
    null,
    null,
    null,
  ],
});

/** torchvision's convert_boxes_to_roi_format: per-image [Ki, 4] boxes with their image's index in front. */
function roisFromBoxes(boxes: readonly Tensor[]): Tensor {
  boxes.forEach((b, i) => {
    expectTensor('roi_align', `boxes[${i}]`, b);
    if (b.shape.length !== 2 || b.shape[1] !== 4) {
      throw new RangeError(
        `[roi_align] the shape of the tensor in the boxes list is not correct as List[Tensor[L, 4]], ` +
          `got ${formatShape(b.shape)} at boxes[${i}]`,
      );
    }
  });
  const ids = boxes.map((b, i) => add(newZeros(b, [b.shape[0]!, 1]), i));
  return cat([cat(ids, 0), cat([...boxes], 0)], 1);
}

/**
 * Bilinear pooling of each box's region into an outputSize grid, as `torchvision.ops.roi_align`:
 * [K, C, h, w] from an [N, C, H, W] input. Boxes are a [K, 5] tensor of rows (batch index, x1, y1,
 * x2, y2) or a list of per-image [Ki, 4] tensors. Each output cell averages samplingRatio x
 * samplingRatio bilinear samples at the centres of a regular grid over its bin; without
 * `aligned`, boxes smaller than one input pixel are grown to one pixel, as torchvision does.
 * Differentiable in `input` (with adaptive sampling only eagerly: it reads the largest grid).
 * @example
 * F.roiAlign(randn([1, 256, 50, 50]), tensor([[0, 4, 4, 36, 36]]), 7, { spatialScale: 0.25, samplingRatio: 2 });
 */
export function roiAlign(
  input: Tensor,
  boxes: Tensor | readonly Tensor[],
  outputSize: number | readonly [number, number],
  options: RoiAlignOptions = {},
): Tensor {
  if (Array.isArray(boxes) && boxes.length > (input.shape[0] ?? 0)) {
    throw new RangeError(
      `[roi_align] boxes is a list of ${boxes.length} per-image tensors, but input has a batch of ${input.shape[0]}`,
    );
  }
  const rois = Array.isArray(boxes) ? roisFromBoxes(boxes as readonly Tensor[]) : (boxes as Tensor);
  return roiAlignRois(input, rois, outputSize, options);
}
