/**
 * How many elements and bytes an ONNX tensor declares (its dims and data type), and how much data it
 * holds, so that the reader refuses a tensor whose data does not fit its declaration before anything
 * reads it. Browser-safe.
 */
import { ONNX_DATA_LOCATION, ONNX_DATA_TYPE, type TensorProto } from './model-proto.js';

/** The most elements one tensor may declare: ONNX Runtime's tensors index with int32 in many kernels. */
const MAX_TENSOR_ELEMENTS = 2 ** 31;

/** The typed field holding a data type's values when it has no raw data, and how many per entry. */
type TypedField = 'floatData' | 'int32Data' | 'stringData' | 'int64Data' | 'doubleData' | 'uint64Data';

interface DataTypeLayout {
  name: string;
  /** Bits per element in raw data; 0 for strings, which have no raw form. */
  bits: number;
  field: TypedField;
  /** Elements per entry of the typed field (4-bit types pack two per int32), or entries per element (complex). */
  perEntry: number;
}

const T = ONNX_DATA_TYPE;
const LAYOUTS: Record<number, DataTypeLayout> = {
  [T.FLOAT]: { name: 'FLOAT', bits: 32, field: 'floatData', perEntry: 1 },
  [T.UINT8]: { name: 'UINT8', bits: 8, field: 'int32Data', perEntry: 1 },
  [T.INT8]: { name: 'INT8', bits: 8, field: 'int32Data', perEntry: 1 },
  [T.UINT16]: { name: 'UINT16', bits: 16, field: 'int32Data', perEntry: 1 },
  [T.INT16]: { name: 'INT16', bits: 16, field: 'int32Data', perEntry: 1 },
  [T.INT32]: { name: 'INT32', bits: 32, field: 'int32Data', perEntry: 1 },
  [T.INT64]: { name: 'INT64', bits: 64, field: 'int64Data', perEntry: 1 },
  [T.STRING]: { name: 'STRING', bits: 0, field: 'stringData', perEntry: 1 },
  [T.BOOL]: { name: 'BOOL', bits: 8, field: 'int32Data', perEntry: 1 },
  [T.FLOAT16]: { name: 'FLOAT16', bits: 16, field: 'int32Data', perEntry: 1 },
  [T.DOUBLE]: { name: 'DOUBLE', bits: 64, field: 'doubleData', perEntry: 1 },
  [T.UINT32]: { name: 'UINT32', bits: 32, field: 'uint64Data', perEntry: 1 },
  [T.UINT64]: { name: 'UINT64', bits: 64, field: 'uint64Data', perEntry: 1 },
  [T.COMPLEX64]: { name: 'COMPLEX64', bits: 64, field: 'floatData', perEntry: 0.5 },
  [T.COMPLEX128]: { name: 'COMPLEX128', bits: 128, field: 'doubleData', perEntry: 0.5 },
  [T.BFLOAT16]: { name: 'BFLOAT16', bits: 16, field: 'int32Data', perEntry: 1 },
  [T.FLOAT8E4M3FN]: { name: 'FLOAT8E4M3FN', bits: 8, field: 'int32Data', perEntry: 1 },
  [T.FLOAT8E4M3FNUZ]: { name: 'FLOAT8E4M3FNUZ', bits: 8, field: 'int32Data', perEntry: 1 },
  [T.FLOAT8E5M2]: { name: 'FLOAT8E5M2', bits: 8, field: 'int32Data', perEntry: 1 },
  [T.FLOAT8E5M2FNUZ]: { name: 'FLOAT8E5M2FNUZ', bits: 8, field: 'int32Data', perEntry: 1 },
  [T.UINT4]: { name: 'UINT4', bits: 4, field: 'int32Data', perEntry: 2 },
  [T.INT4]: { name: 'INT4', bits: 4, field: 'int32Data', perEntry: 2 },
  [T.FLOAT4E2M1]: { name: 'FLOAT4E2M1', bits: 4, field: 'int32Data', perEntry: 2 },
  [T.FLOAT8E8M0]: { name: 'FLOAT8E8M0', bits: 8, field: 'int32Data', perEntry: 1 },
  [T.UINT2]: { name: 'UINT2', bits: 2, field: 'int32Data', perEntry: 4 },
  [T.INT2]: { name: 'INT2', bits: 2, field: 'int32Data', perEntry: 4 },
};

/** The layout of an ONNX data type code, or undefined for UNDEFINED and unknown codes. */
export function dataTypeLayout(dataType: number | undefined): DataTypeLayout | undefined {
  return LAYOUTS[dataType ?? T.UNDEFINED];
}

/**
 * The number of elements `dims` declare, or what is wrong with them (completing "has dims [...], "):
 * a dim that is negative or not an integer, or a product over MAX_TENSOR_ELEMENTS (checked as it grows,
 * so it never overflows).
 */
export function declaredElements(dims: readonly number[]): number | string {
  let count = 1;
  for (const [i, dim] of dims.entries()) {
    if (!Number.isSafeInteger(dim) || dim < 0) return `whose dim ${i} is ${dim}, not a size (an integer >= 0)`;
    count *= dim;
    if (count > MAX_TENSOR_ELEMENTS) return "over 2^31 elements, more than ONNX Runtime's tensors hold";
  }
  return count;
}

/** The raw bytes `count` elements of a data type take (sub-byte types packed, the last byte padded). */
export function rawByteLength(layout: DataTypeLayout, count: number): number {
  return Math.ceil((count * layout.bits) / 8);
}

/** The entries of the typed field `count` elements take. */
export function typedEntries(layout: DataTypeLayout, count: number): number {
  return Math.ceil(count / layout.perEntry);
}

/** Whether a tensor's values live in another file (TensorProto.data_location EXTERNAL). */
export function isExternal(tensor: TensorProto): boolean {
  return tensor.dataLocation === ONNX_DATA_LOCATION.EXTERNAL;
}
