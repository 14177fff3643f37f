/** NumPy `.npy` (format 1.0, little-endian, C order) for feature outputs. */
import { readFileSync, writeFileSync } from 'node:fs';
import { WeightsError } from '../errors.js';
import { type DType, allocate } from '../tensor/dtype.js';
import { numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

const DESCR: Partial<Record<DType, string>> = {
  float32: '<f4',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  uint8: '|u1',
  int8: '|i1',
  bool: '|b1',
};

/**
 * The `.npy` header for an array of `dtype` and `shape`; its data follows in C order. Writers that
 * stream data (the command's final arrays) write this header and append the data themselves.
 */
export function npyHeader(dtype: DType, shape: readonly number[], what = 'saveNpy'): Uint8Array {
  const descr = Object.hasOwn(DESCR, dtype) ? DESCR[dtype] : undefined;
  if (descr === undefined) throw new TypeError(`[${what}] dtype ${dtype} is not supported by .npy`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic (6) + version (2) + length (2) + header + newline, padded to a multiple of 64.
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  return out;
}

/** The `.npy` bytes of a tensor, written to `path` when given. */
export function saveNpy(tensor: Tensor, path?: string): Uint8Array {
  const header = npyHeader(tensor.dtype, tensor.shape);
  const out = new Uint8Array(header.length + tensor.data.byteLength);
  out.set(header);
  out.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), header.length);
  if (path !== undefined) writeFileSync(path, out);
  return out;
}

/** Reads a `.npy` file written by `saveNpy` or NumPy (little-endian, C order). */
export function loadNpy(source: string | Uint8Array): Tensor {
  const file = typeof source === 'string' ? new Uint8Array(readFileSync(source)) : source;
  if (file.length < 10 || file[0] !== 0x93 || String.fromCharCode(...file.subarray(1, 6)) !== 'NUMPY') {
    throw new WeightsError('not a .npy file');
  }
  const headerLength = new DataView(file.buffer, file.byteOffset).getUint16(8, true);
  const header = new TextDecoder().decode(file.subarray(10, 10 + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) throw new WeightsError('Fortran-ordered .npy files are not supported');
  const dtype = (Object.entries(DESCR).find(([, d]) => d === descr)?.[0] ?? undefined) as DType | undefined;
  if (dtype === undefined || shapeText === undefined)
    throw new WeightsError(`unsupported .npy header: ${header.trim()}`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const data = allocate(dtype, numel(shape));
  const start = 10 + headerLength;
  if (file.length - start !== data.byteLength) throw new WeightsError('.npy data length does not match its shape');
  new Uint8Array(data.buffer).set(file.subarray(start));
  return new Tensor(dtype, shape, data);
}
