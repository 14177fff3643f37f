/**
 * `.safetensors`: an 8-byte little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__? }`, then the raw data.
 * Every field is checked against the file before any tensor is made.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { WeightsError } from '../errors.js';
import { type DType, allocate, bytesPerElement } from '../tensor/dtype.js';
import { numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { bfloat16ToFloat32, float16ToFloat32 } from './float16.js';

const TO_DTYPE: Record<string, DType | 'F16' | 'BF16'> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'F16',
  BF16: 'BF16',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
  I8: 'int8',
  BOOL: 'bool',
};
const FROM_DTYPE: Partial<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  int8: 'I8',
  bool: 'BOOL',
};

function fail(what: string): never {
  throw new WeightsError(`not a valid .safetensors file: ${what}`);
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Reads all tensors of a `.safetensors` file (half precision becomes float32). */
export function loadSafetensors(source: string | Uint8Array): Map<string, Tensor> {
  const file = typeof source === 'string' ? new Uint8Array(readFileSync(source)) : source;
  if (file.length < 8) fail('shorter than its 8-byte header length');
  const headerLength = new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(file.length - 8))
    fail(`header length ${headerLength} exceeds the file (${file.length} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + Number(headerLength))),
    ) as Record<string, unknown>;
  } catch {
    fail('the header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header is not a JSON object');
  const dataStart = 8 + Number(headerLength);
  const dataLength = file.length - dataStart;
  const out = new Map<string, Tensor>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = raw as HeaderEntry;
    const kind = TO_DTYPE[entry?.dtype];
    if (kind === undefined) fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(entry?.dtype)}`);
    const shape = entry.shape;
    const offsets = entry.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`tensor '${name}' has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor '${name}' has invalid data_offsets`);
    }
    const [begin, end] = offsets;
    const itemBytes = kind === 'F16' || kind === 'BF16' ? 2 : bytesPerElement(kind);
    if (end < begin || end > dataLength || end - begin !== numel(shape) * itemBytes) {
      fail(
        `tensor '${name}' (${entry.dtype} ${JSON.stringify(shape)}) does not fit its data_offsets [${begin}, ${end}]`,
      );
    }
    const bytes = file.slice(dataStart + begin, dataStart + end);
    if (kind === 'F16' || kind === 'BF16') {
      const bits = new Uint16Array(bytes.buffer, 0, numel(shape));
      out.set(name, new Tensor('float32', shape, kind === 'F16' ? float16ToFloat32(bits) : bfloat16ToFloat32(bits)));
    } else {
      const data = allocate(kind, numel(shape));
      new Uint8Array(data.buffer).set(bytes);
      out.set(name, new Tensor(kind, shape, data));
    }
  }
  return out;
}

/** Encodes tensors as `.safetensors` bytes, and writes them to `path` when given. */
export function saveSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, path?: string): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, HeaderEntry> = {};
  let offset = 0;
  for (const [name, t] of entries) {
    const dtype = FROM_DTYPE[t.dtype];
    if (dtype === undefined) throw new TypeError(`[saveSafetensors] dtype ${t.dtype} of '${name}' is not supported`);
    Object.defineProperty(header, name, {
      value: { dtype, shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] },
      enumerable: true,
    });
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  if (path !== undefined) writeFileSync(path, out);
  return out;
}
