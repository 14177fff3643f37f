/**
 * The final arrays, written piece by piece: the header comes from the known total shape, then
 * each piece of data is appended, so memory holds one piece at a time however many rows there
 * are. The bytes equal `saveNpy` and `saveSafetensors` of the whole arrays.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type DType, bytesPerElement } from '../tensor/dtype.js';
import { numel } from '../tensor/shape.js';
import { npyHeader } from '../io/npy-format.js';
import { safetensorsHeader } from '../io/safetensors.js';
import { fileKey } from './output-keys.js';

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

const byteLength = (source: ArraySource): number => numel(source.shape) * bytesPerElement(source.dtype);

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
  if (format === 'safetensors')
    write(
      SAFETENSORS_FILE,
      safetensorsHeader(
        sources.map((s) => ({ name: s.key, dtype: s.dtype, shape: s.shape })),
        'extract',
      ),
      sources,
    );
  else
    for (const source of sources)
      write(`${fileKey(source.key)}.npy`, npyHeader(source.dtype, source.shape, 'extract'), [source]);
  return records;
}
