/**
 * `Tensor`: a dtype, a shape and contiguous row-major data. Tensors are values: ops return new
 * tensors and never write into their inputs (in-place ops, such as batch norm's running-stat
 * update, replace a module's buffer instead).
 *
 * The op methods (`x.relu()`, `x.add(y)`, ...) are installed by the ops layer from the op
 * registry, so that an op is written once; see src/ops/tensor-methods.ts.
 */
import { type DType, type Storage, type StorageOf, storageMatches } from './dtype.js';
import { type Shape, formatShape, numel } from './shape.js';

export type NestedArray<T> = T | NestedArray<T>[];

export class Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: Shape;
  /** Contiguous row-major element data; int64 is a BigInt64Array, bool a Uint8Array of 0/1. */
  readonly data: StorageOf[D];

  constructor(dtype: D, shape: Shape, data: StorageOf[D]) {
    if (!storageMatches(dtype, data)) {
      throw new TypeError(
        `[tensor] ${dtype} data must be a ${dtype === 'int64' ? 'BigInt64Array' : 'typed array of that type'}`,
      );
    }
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new RangeError(`[tensor] invalid shape ${formatShape(shape)}`);
    }
    if (numel(shape) !== data.length) {
      throw new RangeError(`[tensor] shape ${formatShape(shape)} needs ${numel(shape)} elements, got ${data.length}`);
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  numel(): number {
    return this.data.length;
  }

  /** The single value of a one-element tensor, as a JS number (int64 and bool too). */
  item(): number {
    if (this.data.length !== 1) {
      throw new RangeError(
        `[item] only one-element tensors can be converted to a number, got shape ${formatShape(this.shape)}`,
      );
    }
    return Number(this.data[0]!);
  }

  /** The data as nested JS arrays of numbers, as `tensor.tolist()` gives in PyTorch. */
  toArray(): NestedArray<number> {
    const values = Array.from(this.data as ArrayLike<number | bigint>, Number);
    const build = (dim: number, offset: number): NestedArray<number> => {
      if (dim === this.shape.length) return values[offset]!;
      const size = this.shape[dim]!;
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: size }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${formatShape(this.shape)})`;
  }
}

/** Anything with the metadata of a tensor: a tensor, or a shape-only stand-in during shape propagation. */
export interface TensorMeta {
  readonly dtype: DType;
  readonly shape: Shape;
}

export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}

export type { Storage };
