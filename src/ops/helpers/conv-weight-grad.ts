import type { Shape } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { conv2d } from '../conv2d.js';
import { pad } from '../pad.js';
import { permute, transpose } from '../permute.js';
import { reshape } from '../reshape.js';
import { cropTo } from './crop.js';

export interface ConvGeometry {
  stride: [number, number];
  dilation: [number, number];
  groups: number;
  /** ONNX order: [top, left, bottom, right]. */
  pads: [number, number, number, number];
}

/**
 * The gradient of a convolution's weight (shape `weightShape`), given its input and the gradient
 * of its output, as one grouped convolution: the input's channels of a group become a batch, the
 * images of the batch become channels, and the output gradient becomes the kernel. Stride and
 * dilation swap roles. Each group meets only its own output channels, so a depthwise
 * convolution costs as much as its forward, not channels² as much.
 */
export function convWeightGrad(input: Tensor, gradOut: Tensor, weightShape: Shape, conv: ConvGeometry): Tensor {
  const { stride, dilation, groups: g, pads } = conv;
  const [top, left, bottom, right] = pads;
  // Asymmetric padding ('same' with an even kernel) is applied here; conv2d pads symmetrically.
  const symmetric = top === bottom && left === right;
  const x = symmetric ? input : pad(input, [left, right, top, bottom]);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [, outC, oh, ow] = gradOut.shape as [number, number, number, number];
  const xBatched = reshape(permute(reshape(x, [n, g, c / g, h, w]), [2, 1, 0, 3, 4]), [c / g, g * n, h, w]);
  const kernels = reshape(permute(reshape(gradOut, [n, g, outC / g, oh, ow]), [1, 2, 0, 3, 4]), [outC, n, oh, ow]);
  const perInput = conv2d(xBatched, kernels, null, {
    stride: dilation,
    dilation: stride,
    padding: symmetric ? [top, left] : 0,
    groups: g,
  });
  // Rows and columns the forward never reached (past its last stride) come out extra.
  return cropTo(transpose(perInput, 0, 1), weightShape);
}
