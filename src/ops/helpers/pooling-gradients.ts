/**
 * Backward rules of the pooling and resampling ops, written with ops (so they run eagerly and
 * trace alike).
 */
import { arange } from '../../tensor/creation.js';
import type { DType } from '../../tensor/dtype.js';
import { type Shape, numel } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { eq } from '../eq.js';
import { matmul } from '../matmul.js';
import { newZeros } from '../new-zeros.js';
import { transpose } from '../permute.js';
import { reshape } from '../reshape.js';
import { scatterAdd } from '../scatter-add.js';
import { to } from '../to.js';
import { unsqueeze } from '../unsqueeze.js';

/**
 * The gradient of a max pool: each output's gradient goes to the input position its maximum came
 * from (`indices`, within each plane), summed where windows overlap, as PyTorch routes it.
 */
export function routeToIndices(grad: Tensor, indices: Tensor, inputShape: Shape): Tensor {
  const lead = inputShape.slice(0, -2);
  const plane = numel(inputShape.slice(-2));
  const outPlane = numel(grad.shape.slice(-2));
  const flatGrad = reshape(grad, [...lead, outPlane]);
  const flatIndices = reshape(indices, [...lead, outPlane]);
  const routed = scatterAdd(newZeros(grad, [...lead, plane]), lead.length, flatIndices, flatGrad);
  return reshape(routed, [...inputShape]);
}

function eye(n: number, dtype: DType): Tensor {
  const i = arange(n);
  return to(eq(unsqueeze(i, 1), i), dtype);
}

/**
 * The [out, in] matrix of a linear resampling along one axis: `resampleRows` (the op with the
 * axis's settings applied to dim 2 of an NCHW tensor, leaving dim 3 alone) applied to the identity.
 */
function axisMatrix(size: number, dtype: DType, resampleRows: (x: Tensor) => Tensor): Tensor {
  const resampled = resampleRows(reshape(eye(size, dtype), [1, 1, size, size]));
  return reshape(resampled, resampled.shape.slice(-2));
}

/**
 * The gradient of a linear op that is separable per axis (out = A_h · X · A_w^T for each plane:
 * average pools, adaptive average pools, interpolation): A_h^T · grad · A_w. `resampleRows` and
 * `resampleCols` apply the op along dim 2 with the settings of H and of W respectively.
 */
export function separableAdjoint(
  grad: Tensor,
  inputShape: Shape,
  resampleRows: (x: Tensor) => Tensor,
  resampleCols: (x: Tensor) => Tensor,
): Tensor {
  const [h, w] = inputShape.slice(-2) as [number, number];
  const rows = axisMatrix(h, grad.dtype, resampleRows);
  const cols = axisMatrix(w, grad.dtype, resampleCols);
  return matmul(matmul(transpose(rows, 0, 1), grad), cols);
}
