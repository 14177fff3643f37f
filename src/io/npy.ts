/** NumPy `.npy` (format 1.0, little-endian, C order) for feature outputs. */
import { readFileSync, writeFileSync } from 'node:fs';
import { WeightsError } from '../errors.js';
import { type DType, allocate } from '../tensor/dtype.js';
import { DESCR, npyBytes } from './npy-format.js';
import { numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** The `.npy` bytes of a tensor, written to `path` when given. */
export function saveNpy(tensor: Tensor, path?: string): Uint8Array {
  const out = npyBytes(tensor.dtype, tensor.shape, tensor.data);
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
