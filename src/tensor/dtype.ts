/**
 * Data types and their typed-array storage. The names are ONNX Runtime's, so a tensor's data
 * crosses into a kernel without conversion.
 */
import type { ElementType } from '../runtime/onnx-model.js';

export type DType = ElementType;

export interface StorageOf {
  float32: Float32Array;
  float16: Uint16Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  int8: Int8Array;
  bool: Uint8Array;
}

export type Storage = StorageOf[DType];

const CONSTRUCTORS = {
  float32: Float32Array,
  float16: Uint16Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
} as const;

export const DTYPES: readonly DType[] = Object.keys(CONSTRUCTORS) as DType[];

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && value in CONSTRUCTORS;
}

export function allocate<D extends DType>(dtype: D, length: number): StorageOf[D] {
  return new CONSTRUCTORS[dtype](length) as StorageOf[D];
}

export function bytesPerElement(dtype: DType): number {
  return CONSTRUCTORS[dtype].BYTES_PER_ELEMENT;
}

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

/** The storage class a dtype needs, to check data handed in by users. */
export function storageMatches(dtype: DType, data: unknown): boolean {
  return data instanceof CONSTRUCTORS[dtype];
}

/** Result type of a binary arithmetic op, following PyTorch's promotion for the types we carry. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  const rank: DType[] = ['bool', 'uint8', 'int8', 'int32', 'int64', 'float16', 'float32', 'float64'];
  return rank.indexOf(a) > rank.indexOf(b) ? a : b;
}
