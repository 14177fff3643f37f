/**
 * ONNX models as plain data, and their protobuf encoding. Both the eager kernels (one node each)
 * and whole-graph export build an `OnnxGraph` and encode it here.
 */
import { ProtobufWriter } from './protobuf-writer.js';

/** Element types featurefx moves through ONNX Runtime; the names are ONNX Runtime's own. */
export type ElementType = 'float32' | 'float16' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';

/** ONNX's TensorProto.DataType codes. */
export const ONNX_TYPE_CODE: Record<ElementType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

/** The opset every model is written against: 17 has LayerNormalization and ONNX Runtime Web runs it. */
export const OPSET_VERSION = 17;
const IR_VERSION = 8;

export type AttributeValue =
  number | string | number[] | { tensor: OnnxInitializer } | { float: number } | { floats: number[] };

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** The operator set: '' (ONNX's own, the default) or LOCAL_DOMAIN for a call of a local function. */
  domain?: string;
  attributes?: Record<string, AttributeValue>;
}

/** The domain of the model's local functions (one per leaf module or wrapped function call). */
export const LOCAL_DOMAIN = 'featurefx.local';

/** A model-local function (ONNX FunctionProto): nodes with named inputs and outputs, called by name. */
export interface OnnxFunction {
  name: string;
  inputs: string[];
  outputs: string[];
  nodes: OnnxNode[];
}

/** A dimension: a fixed size, or a symbolic name such as 'batch'. */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  type: ElementType;
  /** Omitted when even the rank is unknown; `null` for a dimension neither fixed nor named. */
  shape?: (OnnxDim | null)[];
}

export interface OnnxInitializer {
  name: string;
  type: ElementType;
  dims: number[];
  /** Little-endian raw bytes, as ONNX's raw_data holds them. */
  raw: Uint8Array;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Types and shapes of values inside the graph (ONNX's value_info): those named after a featurefx node. */
  valueInfo?: OnnxValueInfo[];
  initializers: OnnxInitializer[];
  /** Local functions the nodes call (domain LOCAL_DOMAIN). */
  functions?: OnnxFunction[];
  /** The ONNX opset, OPSET_VERSION unless the graph needs a newer operator (antialiased Resize: 18). */
  opset?: number;
}

// Attribute types from onnx.proto's AttributeProto.AttributeType.
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_TENSOR = 4;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function writeTensor(w: ProtobufWriter, t: OnnxInitializer): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, ONNX_TYPE_CODE[t.type]);
  w.string(8, t.name);
  w.bytes(9, t.raw);
}

function writeAttribute(w: ProtobufWriter, name: string, value: AttributeValue): void {
  w.string(1, name);
  if (typeof value === 'number') {
    // Plain numbers are integer attributes; floats are spelled { float } so that 1.0 stays a float.
    w.int(3, value).int(20, ATTR_INT);
  } else if (typeof value === 'string') {
    w.string(4, value).int(20, ATTR_STRING);
  } else if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    w.int(20, ATTR_INTS);
  } else if ('tensor' in value) {
    w.message(5, (t) => writeTensor(t, value.tensor)).int(20, ATTR_TENSOR);
  } else if ('float' in value) {
    w.float(2, value.float).int(20, ATTR_FLOAT);
  } else {
    for (const v of value.floats) w.float(7, v);
    w.int(20, ATTR_FLOATS);
  }
}

function writeValueInfo(w: ProtobufWriter, info: OnnxValueInfo): void {
  w.string(1, info.name);
  w.message(2, (type) =>
    type.message(1, (tensorType) => {
      tensorType.int(1, ONNX_TYPE_CODE[info.type]);
      const dims = info.shape;
      if (dims === undefined) return;
      tensorType.message(2, (shape) => {
        for (const dim of dims) {
          shape.message(1, (d) => {
            if (typeof dim === 'number') d.int(1, dim);
            else if (dim !== null) d.string(2, dim);
          });
        }
      });
    }),
  );
}

function writeNode(w: ProtobufWriter, node: OnnxNode): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  if (node.name !== undefined) w.string(3, node.name);
  w.string(4, node.opType);
  if (node.domain !== undefined && node.domain !== '') w.string(7, node.domain);
  for (const [name, value] of Object.entries(node.attributes ?? {})) {
    w.message(5, (a) => writeAttribute(a, name, value));
  }
}

/** Encodes a graph as a complete ONNX ModelProto. */
export function encodeModel(graph: OnnxGraph, producerVersion = '0.1.0'): Uint8Array {
  const w = new ProtobufWriter();
  w.int(1, IR_VERSION);
  w.string(2, 'featurefx');
  w.string(3, producerVersion);
  w.message(7, (g) => {
    for (const node of graph.nodes) g.message(1, (n) => writeNode(n, node));
    g.string(2, graph.name);
    for (const init of graph.initializers) g.message(5, (t) => writeTensor(t, init));
    for (const input of graph.inputs) g.message(11, (v) => writeValueInfo(v, input));
    for (const output of graph.outputs) g.message(12, (v) => writeValueInfo(v, output));
    for (const value of graph.valueInfo ?? []) g.message(13, (v) => writeValueInfo(v, value));
  });
  w.message(8, (o) => o.string(1, '').int(2, graph.opset ?? OPSET_VERSION));
  const functions = graph.functions ?? [];
  if (functions.length > 0) w.message(8, (o) => o.string(1, LOCAL_DOMAIN).int(2, 1));
  for (const f of functions) {
    w.message(25, (fp) => {
      fp.string(1, f.name);
      for (const input of f.inputs) fp.string(4, input);
      for (const output of f.outputs) fp.string(5, output);
      for (const node of f.nodes) fp.message(7, (n) => writeNode(n, node));
      fp.message(9, (o) => o.string(1, '').int(2, OPSET_VERSION));
      fp.string(10, LOCAL_DOMAIN);
    });
  }
  return w.finish();
}
