/**
 * `Tensor`: a dtype, a shape and contiguous row-major data. Tensors are values: ops return new
 * tensors and never write into their inputs (in-place ops, such as batch norm's running-stat
 * update, replace a module's buffer instead).
 *
 * The op methods (`x.relu()`, `x.add(y)`, ...) are installed by the ops layer from the op
 * registry, so that an op is written once; see src/ops/tensor-methods.ts.
 */
import { AutogradError } from '../errors.js';
import { warn } from '../warnings.js';
import { type DType, type Storage, type StorageOf, isFloating, storageMatches } from './dtype.js';
import { type Shape, formatShape, numel } from './shape.js';
import type { GradFn } from '../autograd/grad-fn.js';

export type NestedArray<T> = T | NestedArray<T>[];

export class Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: Shape;
  /** Contiguous row-major element data; int64 is a BigInt64Array, bool a Uint8Array of 0/1. */
  readonly data: StorageOf[D];

  // Autograd's record, as PyTorch keeps it on every tensor (src/autograd/ reads and writes it).
  #requiresGrad = false;
  /** Set once the flag was chosen (by a user, or by a module for its parameters). */
  requiresGradDecided = false;
  #grad: Tensor | null = null;
  /** The backward step that made this tensor: null for leaves (tensors not made by a recorded op). */
  gradFn: GradFn | null = null;
  /** Which output of `gradFn` this tensor is (ops such as `split` have several). */
  outputNr = 0;
  /** Whether `backward` stores this non-leaf's gradient in `.grad` (see `retainGrad`). */
  retainsGrad = false;
  /** Counts writes into `data` (an optimizer's step, a copying `loadStateDict`), as torch's `_version`. */
  version = 0;

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

  /**
   * Whether ops on this tensor are recorded for `backward`. A leaf (a tensor no recorded op made)
   * may be switched; a non-leaf requires grad because an input did.
   */
  get requiresGrad(): boolean {
    return this.#requiresGrad;
  }

  set requiresGrad(flag: boolean) {
    if (flag && !isFloating(this.dtype)) {
      throw new AutogradError(
        `[requiresGrad] only tensors of floating-point dtype can require gradients, got ${this.dtype}`,
      );
    }
    if (!flag && this.gradFn !== null) {
      throw new AutogradError(
        '[requiresGrad] you can only change requiresGrad flags of leaf tensors; use detach() for a tensor ' +
          'that does not require grad',
      );
    }
    this.#requiresGrad = flag;
    this.requiresGradDecided = true;
  }

  /**
   * The accumulated gradient of a leaf that requires grad, after `backward`; null before. A
   * non-leaf has one only after `retainGrad()`; reading it otherwise warns, as PyTorch does.
   */
  get grad(): Tensor | null {
    if (this.#grad === null && !this.isLeaf && !this.retainsGrad) {
      warn(
        'AutogradWarning',
        'The .grad of a tensor that is not a leaf is being read. Its .grad is not filled by backward(); ' +
          'call retainGrad() on it before backward if you want it, or read the .grad of the leaf tensor instead.',
      );
    }
    return this.#grad;
  }

  set grad(value: Tensor | null) {
    this.#grad = value;
  }

  /** True for a tensor no recorded op made: one created by the user, a parameter, or a `detach()`. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** Sets `requiresGrad` (default true) and returns this tensor, as `tensor.requires_grad_()`. */
  requiresGrad_(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }

  /**
   * Writes `source`'s values into this tensor's own storage, as `tensor.copy_()`, so that every
   * holder of this tensor sees them, and counts the write in `version`. Ops never do this; an
   * optimizer's step and a copying `loadStateDict` do.
   */
  copy_(source: Tensor): this {
    if (source.dtype !== this.dtype || source.shape.join() !== this.shape.join()) {
      throw new RangeError(
        `[copy_] cannot write a ${source.dtype} tensor of shape ${formatShape(source.shape)} into a ${this.dtype} ` +
          `tensor of shape ${formatShape(this.shape)}`,
      );
    }
    (this.data as { set(values: ArrayLike<unknown>): void }).set(source.data as ArrayLike<unknown>);
    this.version++;
    return this;
  }

  /** Makes `backward` store this non-leaf tensor's gradient in `.grad`, as `tensor.retain_grad()`. */
  retainGrad(): this {
    if (!this.requiresGrad) {
      throw new AutogradError("[retainGrad] can't retain grad on a tensor that doesn't require grad");
    }
    if (!this.isLeaf) this.retainsGrad = true;
    return this;
  }

  /** The same data with no autograd history: a new leaf that does not require grad. */
  detach(): Tensor<D> {
    return new Tensor(this.dtype, this.shape, this.data);
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
