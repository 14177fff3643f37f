/** Argument checks shared by op shape rules; messages name the op and say expected vs got. */
import { type DType, isFloating } from '../../tensor/dtype.js';
import { formatShape } from '../../tensor/shape.js';
import type { TensorMeta } from '../../tensor/tensor.js';

export function isMeta(x: unknown): x is TensorMeta {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x;
}

export function expectTensor(op: string, name: string, x: unknown): TensorMeta {
  if (!isMeta(x)) throw new TypeError(`[${op}] ${name} must be a Tensor, got ${describe(x)}`);
  return x;
}

export function expectRank(op: string, name: string, x: TensorMeta, ranks: readonly number[], hint = ''): void {
  if (!ranks.includes(x.shape.length)) {
    const expected = ranks.map((r) => `${r}-D`).join(' or ');
    throw new RangeError(
      `[${op}] ${name} must be ${expected}, got shape ${formatShape(x.shape)}${hint ? `; ${hint}` : ''}`,
    );
  }
}

export function expectFloat(op: string, name: string, x: TensorMeta): void {
  if (!isFloating(x.dtype)) throw new TypeError(`[${op}] ${name} must be a floating-point tensor, got ${x.dtype}`);
}

export function expectDType(op: string, name: string, x: TensorMeta, dtypes: readonly DType[]): void {
  if (!dtypes.includes(x.dtype)) throw new TypeError(`[${op}] ${name} must be ${dtypes.join(' or ')}, got ${x.dtype}`);
}

/**
 * Tensors that meet in one ONNX node must share a dtype (ONNX Runtime would refuse the node with
 * "Type parameter (T) ... bound to different types"). The first entry is the op's input, the
 * others its parameters, so the fix converts the input: a float64 image into a float32 model.
 */
export function expectSameDType(op: string, tensors: Record<string, TensorMeta | null | undefined>): void {
  const present = Object.entries(tensors).filter((e): e is [string, TensorMeta] => isMeta(e[1]));
  const [inputName, input] = present[0]!;
  for (const [name, t] of present.slice(1)) {
    if (t.dtype !== input.dtype) {
      throw new TypeError(
        `[${op}] ${inputName} is ${input.dtype} but ${name} is ${t.dtype}: they must have the same dtype. ` +
          `Convert the ${inputName} first with x.to('${t.dtype}').`,
      );
    }
  }
}

export function expectInt(op: string, name: string, x: unknown, min = -Infinity): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) {
    throw new TypeError(`[${op}] ${name} must be an integer${min > -Infinity ? ` >= ${min}` : ''}, got ${describe(x)}`);
  }
  return x;
}

/** An int or a pair of ints (kernel sizes, strides) as a pair, as PyTorch's `_pair`. */
export function pair(op: string, name: string, x: number | readonly number[], min = -Infinity): [number, number] {
  const list = typeof x === 'number' ? [x, x] : x;
  if (!Array.isArray(list) || list.length !== 2) {
    throw new TypeError(`[${op}] ${name} must be an integer or a pair of integers, got ${describe(x)}`);
  }
  return [expectInt(op, name, list[0], min), expectInt(op, name, list[1], min)];
}

export function describe(x: unknown): string {
  if (isMeta(x)) return `a ${x.dtype} tensor of shape ${formatShape(x.shape)}`;
  if (Array.isArray(x)) return JSON.stringify(x);
  if (typeof x === 'string') return JSON.stringify(x);
  return String(x);
}
