/** Creating tensors: from JS data, filled, ranges and random. */
import { type DType, type StorageOf, allocate, isDType } from './dtype.js';
import { Generator, defaultGenerator } from './generator.js';
import { type Shape, formatShape, numel } from './shape.js';
import { type NestedArray, Tensor } from './tensor.js';

export interface CreationOptions<D extends DType = DType> {
  dtype?: D;
  /** Record ops on the new tensor for `backward` (floating-point dtypes only), as torch's `requires_grad`. */
  requiresGrad?: boolean;
}

/** Applies the `requiresGrad` creation option. */
function withGradFlag<T extends Tensor>(t: T, options: CreationOptions): T {
  if (options.requiresGrad !== undefined) t.requiresGrad = options.requiresGrad;
  return t;
}

export interface RandomOptions extends CreationOptions<'float32' | 'float64'> {
  generator?: Generator;
}

function fillStorage<D extends DType>(dtype: D, length: number, value: (i: number) => number): StorageOf[D] {
  const data = allocate(dtype, length);
  if (dtype === 'int64') {
    const ints = data as BigInt64Array;
    for (let i = 0; i < length; i++) ints[i] = BigInt(Math.trunc(value(i)));
  } else {
    const arr = data as Exclude<StorageOf[DType], BigInt64Array>;
    for (let i = 0; i < length; i++) arr[i] = value(i);
  }
  return data;
}

function checkShape(shape: Shape, op: string): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TypeError(`[${op}] shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

function checkDType(dtype: unknown, op: string): void {
  if (!isDType(dtype)) throw new TypeError(`[${op}] unknown dtype ${JSON.stringify(dtype)}`);
}

function inferShape(data: NestedArray<number | boolean | bigint>): number[] {
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

/**
 * A tensor from (nested) JS arrays, like `torch.tensor`. Numbers give float32 unless a dtype is
 * given; booleans give bool; bigints give int64.
 */
export function tensor<D extends DType = 'float32'>(
  data: NestedArray<number | boolean | bigint>,
  options: CreationOptions<D> = {},
): Tensor<D> {
  const shape = inferShape(data);
  const flat: unknown[] = Array.isArray(data) ? (data as unknown[]).flat(Infinity) : [data];
  if (flat.length !== numel(shape) || flat.some((v) => Array.isArray(v))) {
    throw new RangeError(
      `[tensor] nested arrays must be rectangular; inferred shape ${formatShape(shape)} from a ragged array`,
    );
  }
  const first = flat[0];
  const defaultType: DType = typeof first === 'boolean' ? 'bool' : typeof first === 'bigint' ? 'int64' : 'float32';
  const dtype = (options.dtype ?? defaultType) as D;
  checkDType(dtype, 'tensor');
  if (dtype === 'int64') {
    const out = new BigInt64Array(flat.length);
    flat.forEach((v, i) => (out[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)))));
    return withGradFlag(new Tensor(dtype, shape, out as StorageOf[D]), options);
  }
  return withGradFlag(
    new Tensor(
      dtype,
      shape,
      fillStorage(dtype, flat.length, (i) => Number(flat[i])),
    ),
    options,
  );
}

/** A tensor filled with `value`, like `torch.full`. */
export function full<D extends DType = 'float32'>(
  shape: Shape,
  value: number,
  options: CreationOptions<D> = {},
): Tensor<D> {
  checkShape(shape, 'full');
  const dtype = (options.dtype ?? 'float32') as D;
  checkDType(dtype, 'full');
  return withGradFlag(new Tensor(dtype, shape, fillStorage(dtype, numel(shape), () => value)), options);
}

export function zeros<D extends DType = 'float32'>(shape: Shape, options: CreationOptions<D> = {}): Tensor<D> {
  return full(shape, 0, options);
}

export function ones<D extends DType = 'float32'>(shape: Shape, options: CreationOptions<D> = {}): Tensor<D> {
  return full(shape, 1, options);
}

/**
 * Values from `start` up to (not including) `end` by `step`, like `torch.arange`. Integer
 * arguments give int64 as in PyTorch; otherwise float32.
 */
export function arange(start: number, end?: number, step = 1, options: CreationOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step)) throw new RangeError('[arange] step must be a non-zero finite number');
  const length = Math.max(0, Math.ceil((hi - lo) / step));
  const integral = [lo, hi, step].every(Number.isInteger);
  const dtype = options.dtype ?? (integral ? 'int64' : 'float32');
  checkDType(dtype, 'arange');
  return withGradFlag(new Tensor(dtype, [length], fillStorage(dtype, length, (i) => lo + i * step)), options);
}

/** Uniform samples in [0, 1), like `torch.rand`. */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  checkShape(shape, 'rand');
  const g = options.generator ?? defaultGenerator;
  const dtype = options.dtype ?? 'float32';
  return withGradFlag(new Tensor(dtype, shape, fillStorage(dtype, numel(shape), () => g.uniform())), options);
}

/** Standard normal samples, like `torch.randn`. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  checkShape(shape, 'randn');
  const g = options.generator ?? defaultGenerator;
  const dtype = options.dtype ?? 'float32';
  return withGradFlag(new Tensor(dtype, shape, fillStorage(dtype, numel(shape), () => g.normal())), options);
}

/** Wraps existing typed-array data without copying. */
export function fromData<D extends DType>(dtype: D, shape: Shape, data: StorageOf[D]): Tensor<D> {
  return new Tensor(dtype, shape, data);
}
