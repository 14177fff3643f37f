/** Checks shared by the ops that index along one dim with a tensor of positions (gather, scatter_add). */
import { formatShape } from '../../tensor/shape.js';
import type { TensorMeta } from '../../tensor/tensor.js';

/**
 * torch's rule: `index` has the rank of `input`, and is no larger than it along every dim but
 * `dim` (positions along `dim` are checked by ONNX Runtime when the kernel runs).
 */
export function checkIndexShape(op: string, input: TensorMeta, index: TensorMeta, dim: number): void {
  const fits = index.shape.every((s, i) => i === dim || s <= input.shape[i]!);
  if (index.shape.length !== input.shape.length || !fits) {
    throw new RangeError(
      `[${op}] index of shape ${formatShape(index.shape)} must have the rank of input ${formatShape(input.shape)} ` +
        `and be no larger along every dim but ${dim}`,
    );
  }
}
