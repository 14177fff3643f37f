/** Window arithmetic shared by the 2-D pooling ops, with PyTorch's output-size rule. */
import { formatShape } from '../../tensor/shape.js';
import type { TensorMeta } from '../../tensor/tensor.js';
import { expectFloat, expectRank, expectTensor, pair } from './checks.js';

export interface Pool2dOptions {
  kernelSize: number | [number, number];
  /** Defaults to kernelSize, as in PyTorch. */
  stride?: number | [number, number] | null;
  padding?: number | [number, number];
  ceilMode?: boolean;
}

export interface ResolvedPool {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
}

export function resolvePool(
  op: string,
  options: Pool2dOptions & { dilation?: number | [number, number] },
): ResolvedPool {
  if (typeof options !== 'object' || options === null || options.kernelSize === undefined) {
    throw new TypeError(
      `[${op}] kernelSize is required, e.g. F.${op === 'max_pool2d' ? 'maxPool2d' : 'avgPool2d'}(x, { kernelSize: 2 })`,
    );
  }
  const kernel = pair(op, 'kernelSize', options.kernelSize, 1);
  const stride =
    options.stride === undefined || options.stride === null ? kernel : pair(op, 'stride', options.stride, 1);
  const padding = pair(op, 'padding', options.padding ?? 0, 0);
  const dilation = pair(op, 'dilation', options.dilation ?? 1, 1);
  for (const i of [0, 1]) {
    if (padding[i]! > kernel[i]! / 2) {
      throw new RangeError(
        `[${op}] padding should be at most half of the kernel size, got padding ${padding[i]} for kernel ${kernel[i]}`,
      );
    }
  }
  return { kernel, stride, padding, dilation, ceilMode: options.ceilMode ?? false };
}

/** PyTorch's pooling output size (in ceil mode the last window must start inside the input or left padding). */
export function pooledSize(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = Math.floor((ceil ? span + s - 1 : span) / s) + 1;
  if (ceil && (out - 1) * s >= size + p) out -= 1;
  return out;
}

export function inferPool2d(op: string, x: TensorMeta, r: ResolvedPool): TensorMeta {
  expectTensor(op, 'input', x);
  expectFloat(op, 'input', x);
  expectRank(op, 'input', x, [3, 4], 'expected (N, C, H, W) or (C, H, W)');
  const lead = x.shape.slice(0, -2);
  const [h, w] = x.shape.slice(-2) as [number, number];
  const oh = pooledSize(h, r.kernel[0], r.stride[0], r.padding[0], r.dilation[0], r.ceilMode);
  const ow = pooledSize(w, r.kernel[1], r.stride[1], r.padding[1], r.dilation[1], r.ceilMode);
  if (oh <= 0 || ow <= 0)
    throw new RangeError(`[${op}] input ${formatShape(x.shape)} is too small for kernel ${r.kernel.join('x')}`);
  return { dtype: x.dtype, shape: [...lead, oh, ow] };
}

/**
 * ONNX pads for PyTorch's sizes. ONNX's ceil mode lacks PyTorch's "last window starts inside"
 * rule, so ceil mode is expressed as extra end padding sized for the exact output.
 */
export function onnxPads(
  r: ResolvedPool,
  inputSize: readonly [number, number],
  outSize: readonly [number, number],
): number[] {
  const end = [0, 1].map((i) => {
    const needed = (outSize[i]! - 1) * r.stride[i]! + r.dilation[i]! * (r.kernel[i]! - 1) + 1;
    return Math.max(r.padding[i]!, needed - inputSize[i]! - r.padding[i]!);
  });
  return [r.padding[0], r.padding[1], end[0]!, end[1]!];
}

/** Output size: one int for both dims, or a pair in which null keeps the input's size. */
export type AdaptiveSize = number | readonly (number | null)[];

/** The [H, W] an adaptive pool of `x` gives for `size`. */
export function adaptiveOutputSize(op: string, x: TensorMeta, size: AdaptiveSize): [number, number] {
  const [h, w] = x.shape.slice(-2) as [number, number];
  const pairSize = typeof size === 'number' ? [size, size] : size;
  if (!Array.isArray(pairSize) || pairSize.length !== 2) {
    throw new TypeError(`[${op}] outputSize must be an int or a pair, got ${JSON.stringify(size)}`);
  }
  const out = [pairSize[0] ?? h, pairSize[1] ?? w] as [number, number];
  if (!out.every((d) => Number.isInteger(d) && d > 0))
    throw new RangeError(`[${op}] outputSize must be positive, got ${JSON.stringify(size)}`);
  return out;
}

export function inferAdaptive(op: string, x: TensorMeta, size: AdaptiveSize): TensorMeta {
  expectTensor(op, 'input', x);
  expectFloat(op, 'input', x);
  expectRank(op, 'input', x, [3, 4], 'expected (N, C, H, W) or (C, H, W)');
  const [oh, ow] = adaptiveOutputSize(op, x, size);
  return { dtype: x.dtype, shape: [...x.shape.slice(0, -2), oh, ow] };
}

/** PyTorch's adaptive windows: [floor(i * in / out), ceil((i + 1) * in / out)). */
export function adaptiveWindows(input: number, output: number): [number, number][] {
  return Array.from({ length: output }, (_, i) => [
    Math.floor((i * input) / output),
    Math.ceil(((i + 1) * input) / output),
  ]);
}
