/**
 * A tensor as ONNX Runtime's bindings take and give it. No Node imports: the page's bundle uses it
 * (through the preprocessing graph's inputs) as native-session.ts does.
 */
import type { ElementType } from './onnx-model.js';

export type RawData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

export interface RawTensor {
  type: ElementType;
  dims: readonly number[];
  data: RawData;
}
