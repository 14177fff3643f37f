/**
 * ONNX model bytes <-> plain `ModelProto` data, with protobufjs and ONNX's own schema (no hand-written
 * decoder). Browser-safe: no node: imports here; `readOnnxModel` (read-model-file.ts) adds the file
 * and its external data in Node.
 */
import protobuf from 'protobufjs/light.js';
import { OnnxFormatError } from '../errors.js';
import { checkModel } from './check-model.js';
import type { ModelProto } from './model-proto.js';
import { ONNX_SCHEMA } from './onnx-schema.js';

const MODEL_PROTO = protobuf.Root.fromJSON(ONNX_SCHEMA).lookupType('onnx.ModelProto');

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, arrays: true, defaults: false };

export interface DecodeOptions {
  /** How messages name the model, e.g. its path; 'the ONNX model' if not given. */
  source?: string;
}

/**
 * Decodes an ONNX file's bytes and checks them (see check-model.ts). `bytes` fields of the result view
 * `bytes` (no copy). Tensors with external data keep their `externalData` entries: `readOnnxModel`
 * resolves them in Node. In a browser, the page's bundle calls it on a fetched file's bytes
 * (test/browser/onnx-page-entry.ts); in Node, `OnnxModel.fromBytes` does.
 */
export function decodeOnnxModel(bytes: Uint8Array, options: DecodeOptions = {}): ModelProto {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`decodeOnnxModel: bytes must be a Uint8Array (the file's contents), got ${typeof bytes}`);
  }
  const source = options.source ?? 'the ONNX model';
  // A plain Uint8Array view of a Node Buffer, so that bytes fields are Uint8Arrays in Node as in the browser.
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let model: ModelProto;
  try {
    model = MODEL_PROTO.toObject(MODEL_PROTO.decode(view), TO_OBJECT) as ModelProto;
  } catch (error) {
    // protobufjs reports a truncated field as "index out of range: 10 + 4 > 12", a bad tag as "invalid
    // wire type 7 at offset 3", messages nested over 100 deep (protoc's limit, which ONNX's own parser
    // has too) as "maximum nesting depth exceeded".
    const reason = error instanceof Error ? error.message : String(error);
    if (/nesting depth|call stack/i.test(reason)) {
      throw new OnnxFormatError(
        `Load model from ${source} failed: its messages are nested over 100 levels deep (subgraphs within ` +
          "subgraphs), past protobuf's limit, which no exporter writes. The file is damaged or hostile.",
      );
    }
    throw new OnnxFormatError(
      `Load model from ${source} failed: protobuf parsing failed (${reason}) after reading ${bytes.length} ` +
        'bytes. The file is truncated or damaged, or is not an ONNX model; copy or export it again.',
    );
  }
  checkModel(model, source);
  return model;
}

/** Encodes a `ModelProto` (as `decodeOnnxModel` gives it, possibly pruned) into ONNX file bytes. */
export function encodeOnnxModel(model: ModelProto): Uint8Array {
  const bytes = MODEL_PROTO.encode(MODEL_PROTO.fromObject(model)).finish();
  // protobufjs gives a Node Buffer in Node: the same bytes as a plain Uint8Array, as in the browser.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
