import { formatShape } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectFloat, expectSameDType, expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

function sameShape(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Normalises over the last `normalizedShape.length` dims, then scales and shifts, as `F.layer_norm`. */
export const layerNorm = defineOp({
  name: 'layer_norm',
  infer: (
    x: TensorMeta,
    normalizedShape: readonly number[],
    weight: TensorMeta | null = null,
    bias: TensorMeta | null = null,
    _eps: number = 1e-5,
  ): TensorMeta => {
    expectTensor('layer_norm', 'input', x);
    expectFloat('layer_norm', 'input', x);
    expectSameDType('layer_norm', { input: x, weight, bias });
    const k = normalizedShape.length;
    if (k === 0 || !sameShape(x.shape.slice(-k), normalizedShape)) {
      throw new RangeError(
        `[layer_norm] input ${formatShape(x.shape)} does not end with normalized_shape ${formatShape(normalizedShape)}`,
      );
    }
    for (const [name, t] of [
      ['weight', weight],
      ['bias', bias],
    ] as const) {
      if (t !== null && t !== undefined && !sameShape(t.shape, normalizedShape)) {
        throw new RangeError(
          `[layer_norm] ${name} must have shape ${formatShape(normalizedShape)}, got ${formatShape(t.shape)}`,
        );
      }
    }
    return { dtype: x.dtype, shape: x.shape };
  },
  lower: (ctx, x, normalizedShape, weight = null, bias = null, eps = 1e-5) => {
    const axis = -normalizedShape.length;
    const scale =
      weight ??
      ctx.emit('ConstantOfShape', [ctx.int64s(normalizedShape)], {
        value: {
          tensor: { name: 'value', type: 'float32', dims: [1], raw: new Uint8Array(new Float32Array([1]).buffer) },
        },
      });
    const inputs = bias === null || bias === undefined ? [x, scale] : [x, scale, bias];
    return ctx.emit('LayerNormalization', inputs, { axis, epsilon: { float: eps } });
  },
});
