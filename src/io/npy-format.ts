/**
 * The NumPy `.npy` format (1.0, little-endian, C order): its header and whole files from bytes.
 * No Node imports, so the browser page (web/) writes features with it too.
 */
import type { DType } from '../tensor/dtype.js';

export const DESCR: Partial<Record<DType, string>> = {
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

/** A whole `.npy` file: the header for `dtype` and `shape`, then `data`'s bytes. */
export function npyBytes(dtype: DType, shape: readonly number[], data: ArrayBufferView, what = 'saveNpy'): Uint8Array {
  const header = npyHeader(dtype, shape, what);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return out;
}
