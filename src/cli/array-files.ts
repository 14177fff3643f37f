/**
 * The final arrays, written piece by piece: the header comes from the known total shape, then
 * each piece of data is appended, so memory holds one piece at a time however many rows there
 * are. The bytes equal `saveNpy` and `saveSafetensors` of the whole arrays.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type DType, bytesPerElement } from '../tensor/dtype.js';
import { numel } from '../tensor/shape.js';
import { fileKey } from './output-keys.js';

// The formats' dtype names, as src/io/npy.ts and src/io/safetensors.ts write them.
const NPY_DESCR: Partial<Record<DType, string>> = {
  float32: '<f4',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  uint8: '|u1',
  int8: '|i1',
  bool: '|b1',
};
const SAFETENSORS_DTYPE: Partial<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  int8: 'I8',
  bool: 'BOOL',
};

/** An array to write: its dtype and shape, and its data as a sequence of byte pieces. */
export interface ArraySource {
  key: string;
  dtype: DType;
  shape: number[];
  pieces: () => Iterable<Uint8Array>;
}

/** Where an array's data lies in a written file, recorded in the manifest (merge reads rows by it). */
export interface ArrayRecord {
  key: string;
  file: string;
  dtype: DType;
  shape: number[];
  offset: number;
}

export const SAFETENSORS_FILE = 'features.safetensors';

function supported<T>(table: Partial<Record<DType, T>>, dtype: DType, key: string): T {
  const value = Object.hasOwn(table, dtype) ? table[dtype] : undefined;
  if (value === undefined)
    throw new TypeError(`output '${key}' has dtype ${dtype}, which the output format cannot hold`);
  return value;
}

function npyHeader(source: ArraySource): Uint8Array {
  const shape = source.shape.length === 1 ? `(${source.shape[0]},)` : `(${source.shape.join(', ')})`;
  let header = `{'descr': '${supported(NPY_DESCR, source.dtype, source.key)}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  return out;
}

const byteLength = (source: ArraySource): number => numel(source.shape) * bytesPerElement(source.dtype);

function safetensorsHeader(sources: readonly ArraySource[]): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const s of sources) {
    const dtype = supported(SAFETENSORS_DTYPE, s.dtype, s.key);
    Object.defineProperty(header, s.key, {
      value: { dtype, shape: s.shape, data_offsets: [offset, offset + byteLength(s)] },
      enumerable: true,
    });
    offset += byteLength(s);
  }
  let json = JSON.stringify(header);
  // Spaces so that the data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  return out;
}

/** Appends to a file, counting what it wrote. */
class Appender {
  private readonly fd: number;
  written = 0;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  append(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length;) at += writeSync(this.fd, bytes, at);
    this.written += bytes.length;
  }
  appendArray(source: ArraySource): void {
    const start = this.written;
    for (const piece of source.pieces()) this.append(piece);
    if (this.written - start !== byteLength(source)) {
      throw new Error(
        `output '${source.key}' got ${this.written - start} bytes, but its shape [${source.shape}] needs ${byteLength(source)}`,
      );
    }
  }
  /** Flushes to the disk, so that the manifest never says complete about data still in the page cache. */
  close(): void {
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}

/** Writes `<key>.npy` per array, or all arrays into `features.safetensors`, in `dir`. */
export function writeArrayFiles(
  dir: string,
  format: 'npy' | 'safetensors',
  sources: readonly ArraySource[],
): ArrayRecord[] {
  const records: ArrayRecord[] = [];
  const write = (file: string, header: Uint8Array, arrays: readonly ArraySource[]): void => {
    const out = new Appender(join(dir, file));
    try {
      out.append(header);
      for (const source of arrays) {
        records.push({ key: source.key, file, dtype: source.dtype, shape: source.shape, offset: out.written });
        out.appendArray(source);
      }
    } finally {
      out.close();
    }
  };
  if (format === 'safetensors') write(SAFETENSORS_FILE, safetensorsHeader(sources), sources);
  else for (const source of sources) write(`${fileKey(source.key)}.npy`, npyHeader(source), [source]);
  return records;
}
