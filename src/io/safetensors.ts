/**
 * `.safetensors`: an 8-byte little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__? }`, then the raw data.
 * Every field is checked against the file before any tensor is read, and a file path is read
 * one tensor at a time, so files over 2 GiB load too.
 */
import { writeFileSync } from 'node:fs';
import { WeightsError } from '../errors.js';
import { type DType, allocate, bytesPerElement } from '../tensor/dtype.js';
import { numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { type ByteSource, readRange, withByteSource } from './byte-source.js';
import { bfloat16ToFloat32, float16ToFloat32 } from './float16.js';

/** A Map, so that a dtype such as "constructor" finds nothing instead of Object.prototype's members. */
const TO_DTYPE = new Map<string, DType | 'F16' | 'BF16'>([
  ['F32', 'float32'],
  ['F64', 'float64'],
  ['F16', 'F16'],
  ['BF16', 'BF16'],
  ['I64', 'int64'],
  ['I32', 'int32'],
  ['U8', 'uint8'],
  ['I8', 'int8'],
  ['BOOL', 'bool'],
]);
const FROM_DTYPE: Partial<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  int8: 'I8',
  bool: 'BOOL',
};

/** The reference implementation's limit; a longer header is a forged file, and would not fit in a JS string. */
const MAX_HEADER_BYTES = 100_000_000;

function fail(what: string): never {
  throw new WeightsError(`not a valid .safetensors file: ${what}`);
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** A header entry whose dtype, shape and byte range were checked against the file. */
interface CheckedEntry {
  name: string;
  kind: DType | 'F16' | 'BF16';
  shape: number[];
  begin: number;
  end: number;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function checkEntry(name: string, entry: unknown, dataLength: number): CheckedEntry {
  if (!isObject(entry))
    fail(`tensor '${name}' is ${JSON.stringify(entry)}, not an object { dtype, shape, data_offsets }`);
  const { dtype, shape, data_offsets: offsets } = entry;
  const kind = typeof dtype === 'string' ? TO_DTYPE.get(dtype) : undefined;
  if (kind === undefined) {
    fail(
      `tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}; supported: ${[...TO_DTYPE.keys()].join(', ')}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const itemBytes = kind === 'F16' || kind === 'BF16' ? 2 : bytesPerElement(kind);
  const bytes = (shape as number[]).reduce((a, d) => a * d, itemBytes);
  if (end < begin || end > dataLength || end - begin !== bytes) {
    fail(
      `tensor '${name}' (${dtype as string} ${JSON.stringify(shape)}, ${bytes} bytes) does not fit its data_offsets ` +
        `[${begin}, ${end}] in a data section of ${dataLength} bytes`,
    );
  }
  return { name, kind, shape: shape as number[], begin, end };
}

/** The header's tensors, checked against each other and the file; nothing of their data is read. */
function readHeader(file: ByteSource): { entries: CheckedEntry[]; dataStart: number } {
  if (file.size < 8) fail(`${file.name} is shorter than its 8-byte header length`);
  const headerLength = new DataView(readRange(file, 0, 8, 'the header length').buffer).getBigUint64(0, true);
  if (headerLength > BigInt(file.size - 8)) fail(`header length ${headerLength} exceeds the file (${file.size} bytes)`);
  if (headerLength > MAX_HEADER_BYTES) {
    fail(`header length ${headerLength} is over the ${MAX_HEADER_BYTES} bytes the safetensors format allows`);
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(readRange(file, 8, dataStart - 8, 'the header')),
    );
  } catch {
    fail('the header is not JSON');
  }
  if (!isObject(header))
    fail(`the header is ${Array.isArray(header) ? 'an array' : JSON.stringify(header)}, not a JSON object`);
  const entries = Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, entry]) => checkEntry(name, entry, file.size - dataStart));
  // Each byte of the data belongs to at most one tensor, so the tensors never take more memory than the file.
  const byStart = [...entries].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < byStart.length; i++) {
    const [before, after] = [byStart[i - 1]!, byStart[i]!];
    if (after.begin < before.end) {
      fail(
        `tensors '${before.name}' [${before.begin}, ${before.end}] and '${after.name}' [${after.begin}, ${after.end}] ` +
          'overlap in the data section',
      );
    }
  }
  return { entries, dataStart };
}

function readTensor(file: ByteSource, dataStart: number, e: CheckedEntry): Tensor {
  const count = e.shape.reduce((a, d) => a * d, 1);
  if (e.kind === 'F16' || e.kind === 'BF16') {
    const bits = new Uint16Array(count);
    file.readInto(new Uint8Array(bits.buffer), dataStart + e.begin);
    return new Tensor('float32', e.shape, e.kind === 'F16' ? float16ToFloat32(bits) : bfloat16ToFloat32(bits));
  }
  const data = allocate(e.kind, count);
  file.readInto(new Uint8Array(data.buffer), dataStart + e.begin);
  return new Tensor(e.kind, e.shape, data);
}

/** Reads all tensors of an opened `.safetensors` file (`loadWeights` opens the file to tell its format first). */
export function readSafetensors(file: ByteSource): Map<string, Tensor> {
  const { entries, dataStart } = readHeader(file);
  return new Map(entries.map((e) => [e.name, readTensor(file, dataStart, e)]));
}

/** Reads all tensors of a `.safetensors` file or bytes (half precision becomes float32). */
export function loadSafetensors(source: string | Uint8Array): Map<string, Tensor> {
  return withByteSource(source, readSafetensors);
}

/** An array a `.safetensors` header describes: its name, dtype and shape (data follows in this order). */
export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: readonly number[];
}

/**
 * The `.safetensors` header (length and JSON) for arrays stored back to back in the given order.
 * Writers that stream data (the command's final arrays) write this header and append the data.
 */
export function safetensorsHeader(entries: readonly SafetensorsEntry[], what = 'saveSafetensors'): Uint8Array {
  const header: Record<string, HeaderEntry> = {};
  let offset = 0;
  for (const { name, dtype, shape } of entries) {
    const stored = Object.hasOwn(FROM_DTYPE, dtype) ? FROM_DTYPE[dtype] : undefined;
    if (stored === undefined) throw new TypeError(`[${what}] dtype ${dtype} of '${name}' is not supported`);
    const bytes = numel(shape) * bytesPerElement(dtype);
    // defineProperty, so that a key such as "__proto__" is an ordinary entry.
    Object.defineProperty(header, name, {
      value: { dtype: stored, shape: [...shape], data_offsets: [offset, offset + bytes] },
      enumerable: true,
    });
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  return out;
}

/** Encodes tensors as `.safetensors` bytes, and writes them to `path` when given. */
export function saveSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, path?: string): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header = safetensorsHeader(entries.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })));
  const out = new Uint8Array(header.length + entries.reduce((n, [, t]) => n + t.data.byteLength, 0));
  out.set(header);
  let at = header.length;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  if (path !== undefined) writeFileSync(path, out);
  return out;
}
