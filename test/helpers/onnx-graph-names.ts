/**
 * Reads back, from encoded ONNX bytes, the names tests check: each node's inputs and each
 * initializer's name. A few lines of protobuf decoding (only what ModelProto needs to be walked),
 * so that tests look at the bytes a user gets rather than at featurefx's own data structures.
 */

/** Top-level fields of a protobuf message: field number → its length-delimited payloads. */
function fields(bytes: Uint8Array): Map<number, Uint8Array[]> {
  const out = new Map<number, Uint8Array[]>();
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 1;
    for (;;) {
      const byte = bytes[pos++]!;
      result += (byte & 0x7f) * shift;
      if (byte < 0x80) return result;
      shift *= 128;
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    const wireType = tag % 8;
    if (wireType === 0) varint();
    else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else if (wireType === 2) {
      const length = varint();
      const list = out.get(Math.floor(tag / 8)) ?? [];
      list.push(bytes.subarray(pos, pos + length));
      out.set(Math.floor(tag / 8), list);
      pos += length;
    } else throw new Error(`unexpected protobuf wire type ${wireType}`);
  }
  return out;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

// Field numbers from onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const NODE_INPUT = 1;
const TENSOR_NAME = 8;

export interface OnnxGraphNames {
  initializers: string[];
  nodeInputs: string[][];
}

export function onnxGraphNames(model: Uint8Array): OnnxGraphNames {
  const graph = fields(fields(model).get(MODEL_GRAPH)![0]!);
  return {
    initializers: (graph.get(GRAPH_INITIALIZER) ?? []).map((t) => text(fields(t).get(TENSOR_NAME)![0]!)),
    nodeInputs: (graph.get(GRAPH_NODE) ?? []).map((n) => (fields(n).get(NODE_INPUT) ?? []).map(text)),
  };
}
