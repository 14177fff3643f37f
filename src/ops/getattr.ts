import type { TensorMeta } from '../tensor/tensor.js';
import { defineOp } from './registry.js';

const ATTRIBUTES = ['shape', 'ndim', 'dtype'] as const;
type Attribute = (typeof ATTRIBUTES)[number];

function checkAttribute(name: unknown): Attribute {
  if (!ATTRIBUTES.includes(name as Attribute)) {
    throw new RangeError(
      `[getattr] only ${ATTRIBUTES.join(', ')} can be read from a traced tensor, got ${String(name)}`,
    );
  }
  return name as Attribute;
}

/**
 * Reads a tensor attribute: what tracing records for `x.shape` (torch.fx's `getattr` node).
 * It runs as plain JS; exported to ONNX, `shape` is a Shape node so that sizes stay dynamic.
 */
export const getattr = defineOp({
  name: 'getattr',
  infer: (x: TensorMeta, name: string): TensorMeta => {
    checkAttribute(name);
    return { dtype: 'int64', shape: [x.shape.length] };
  },
  direct: (x, name) => x[checkAttribute(name)] as never,
  lower: (ctx, x, name) => {
    const attribute = checkAttribute(name);
    if (attribute === 'shape') return ctx.emit('Shape', [x]);
    if (attribute === 'ndim') return ctx.constant(x.shape.length, 'int64');
    throw new RangeError('[getattr] a dtype cannot be exported to ONNX as a value');
  },
});
