import { formatShape } from '../tensor/shape.js';
import type { TensorMeta } from '../tensor/tensor.js';
import { expectFloat, expectSameDType, expectTensor } from './helpers/checks.js';
import { standardize, standardizeBackward } from './helpers/normalization-gradients.js';
import { mul } from './mul.js';
import { defineOp } from './registry.js';
import { sum } from './sum.js';

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
  backward: ({ grad, args: [x, normalizedShape, weight, bias, eps], needs }) => {
    const rank = x.shape.length;
    const leading = Array.from({ length: rank - normalizedShape.length }, (_, i) => i);
    const axes = normalizedShape.map((_, i) => leading.length + i);
    const normalized = standardize(x, axes, eps ?? 1e-5);
    const hasWeight = weight !== null && weight !== undefined;
    // The parameters' gradients sum over the leading (batch) dims, if any.
    const overLeading = (t: typeof grad): typeof grad => (leading.length === 0 ? t : sum(t, leading));
    return [
      needs[0] === true ? standardizeBackward(hasWeight ? mul(grad, weight) : grad, normalized, axes) : null,
      null,
      needs[2] === true && hasWeight ? overLeading(mul(grad, normalized.xhat)) : null,
      needs[3] === true && bias !== null && bias !== undefined ? overLeading(grad) : null,
      null,
    ];
  },
});
