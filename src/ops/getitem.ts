/**
 * Indexing, PyTorch's `x[...]` (op `getitem`): integers, slices, `null` (a new axis), '...' and
 * one int64 index tensor. TypeScript has no `x[1:3]` syntax, so slices are written
 * `slice(1, 3)` and a multi-part index is a list: `x.getitem([slice(), 0])` is `x[:, 0]`.
 *
 * The same op indexes a list of sizes (`x.shape[0]` in traced code records `getitem` on the
 * traced shape): on a JS array it is plain JS.
 */
import { formatShape, numel } from '../tensor/shape.js';
import { Tensor, type TensorMeta } from '../tensor/tensor.js';
import { expand } from './expand.js';
import { describe, expectDType, isMeta } from './helpers/checks.js';
import type { LoweringContext, Value } from './lowering.js';
import { newZeros } from './new-zeros.js';
import { nonzero } from './nonzero.js';
import { pad, padAt } from './pad.js';
import type { ArgumentGradients } from './op.js';
import { defineOp, getOp } from './registry.js';
import { reshape } from './reshape.js';
import { scatterAdd } from './scatter-add.js';
import { to } from './to.js';
import { unsqueeze } from './unsqueeze.js';

/** A Python slice `start:stop:step`; omitted parts are open. */
export class Slice {
  constructor(
    readonly start: number | null = null,
    readonly stop: number | null = null,
    readonly step: number | null = null,
  ) {}

  toString(): string {
    return `slice(${this.start}, ${this.stop}, ${this.step})`;
  }
}

/** `slice(1, 3)` is Python's `1:3`; `slice()` is `:`. */
export function slice(start: number | null = null, stop: number | null = null, step: number | null = null): Slice {
  return new Slice(start, stop, step);
}

export type IndexItem<T = TensorMeta> = number | Slice | null | '...' | T;
export type Index<T = TensorMeta> = IndexItem<T> | readonly IndexItem<T>[];

/** Open slice ends for ONNX Slice, which clamps them to the dimension as Python does. */
const OPEN_END = Number.MAX_SAFE_INTEGER;

type Step<T> =
  | { kind: 'slice'; axis: number; start: number | null; stop: number | null; step: number }
  | { kind: 'int'; axis: number; index: number }
  | { kind: 'tensor'; axis: number; index: T }
  | { kind: 'newaxis'; outAxis: number };

/** Resolves the index against the input rank: which input axis each item applies to. */
function plan<T>(rank: number, index: Index<T>): Step<T>[] {
  const items: readonly IndexItem<T>[] = Array.isArray(index) ? index : [index as IndexItem<T>];
  const consuming = items.filter((i) => i !== null && i !== '...').length;
  const ellipses = items.filter((i) => i === '...').length;
  if (ellipses > 1) throw new RangeError('[getitem] an index can only have a single ellipsis (...)');
  if (consuming > rank) throw new RangeError(`[getitem] too many indices (${consuming}) for a ${rank}-D tensor`);
  const steps: Step<T>[] = [];
  let axis = 0;
  let outAxis = 0;
  for (const item of items) {
    if (item === '...') {
      axis += rank - consuming;
      outAxis += rank - consuming;
    } else if (item === null) {
      steps.push({ kind: 'newaxis', outAxis: outAxis++ });
    } else if (typeof item === 'number') {
      if (!Number.isInteger(item)) throw new TypeError(`[getitem] integer indices must be integers, got ${item}`);
      steps.push({ kind: 'int', axis: axis++, index: item });
    } else if (item instanceof Slice) {
      const step = item.step ?? 1;
      if (!Number.isInteger(step) || step <= 0)
        throw new RangeError(`[getitem] slice steps must be positive integers, got ${step}`);
      steps.push({ kind: 'slice', axis: axis++, start: item.start, stop: item.stop, step });
      outAxis++;
    } else if (typeof item === 'object') {
      steps.push({ kind: 'tensor', axis: axis++, index: item });
      outAxis++;
    } else {
      throw new TypeError(
        `[getitem] unsupported index ${describe(item)}; use numbers, slice(), null, '...' or an int64 tensor`,
      );
    }
  }
  if (steps.filter((s) => s.kind === 'tensor').length > 1) {
    throw new RangeError('[getitem] only one tensor index is supported; index in two steps');
  }
  return steps;
}

/** Where a positive-step slice starts in a dim of `size`, and how many elements it takes. */
function sliceExtent(size: number, start: number | null, stop: number | null, step: number): [number, number] {
  const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const s = start === null ? 0 : clamp(start);
  const e = stop === null ? size : clamp(stop);
  return [s, Math.max(0, Math.ceil((e - s) / step))];
}

function sliceLength(size: number, start: number | null, stop: number | null, step: number): number {
  return sliceExtent(size, start, stop, step)[1];
}

function inferIndex(x: TensorMeta, index: Index): TensorMeta {
  const steps = plan(x.shape.length, index);
  const shape: number[] = [];
  const byAxis = new Map<number, Step<TensorMeta>>();
  for (const s of steps) if (s.kind !== 'newaxis') byAxis.set(s.axis, s);
  const newAxes = new Set(steps.flatMap((s) => (s.kind === 'newaxis' ? [s.outAxis] : [])));
  for (let axis = 0; axis < x.shape.length; axis++) {
    while (newAxes.has(shape.length)) shape.push(1);
    const size = x.shape[axis]!;
    const s = byAxis.get(axis);
    if (s === undefined) shape.push(size);
    else if (s.kind === 'slice') shape.push(sliceLength(size, s.start, s.stop, s.step));
    else if (s.kind === 'int') {
      if (s.index < -size || s.index >= size) {
        throw new RangeError(`[getitem] index ${s.index} is out of bounds for dimension ${axis} with size ${size}`);
      }
    } else if (s.kind === 'tensor') {
      if (s.index.dtype === 'bool') {
        throw new TypeError(
          '[getitem] a boolean mask selects as many elements as it has true values, which only running ' +
            'code knows: index with a mask in eager code, or with F.nonzero(mask) positions',
        );
      }
      expectDType('getitem', 'index tensor', s.index, ['int64', 'int32']);
      shape.push(...s.index.shape);
    }
  }
  while (newAxes.has(shape.length)) shape.push(1);
  return { dtype: x.dtype, shape };
}

function lowerIndex(ctx: LoweringContext, x: Value, index: Index<Value>): string {
  const steps = plan(x.shape.length, index);
  let out = x.name;
  const slices = steps.filter((s): s is Extract<Step<Value>, { kind: 'slice' }> => s.kind === 'slice');
  const nontrivial = slices.filter((s) => s.start !== null || s.stop !== null || s.step !== 1);
  if (nontrivial.length > 0) {
    out = ctx.emit('Slice', [
      out,
      ctx.int64s(nontrivial.map((s) => s.start ?? 0)),
      ctx.int64s(nontrivial.map((s) => s.stop ?? OPEN_END)),
      ctx.int64s(nontrivial.map((s) => s.axis)),
      ctx.int64s(nontrivial.map((s) => s.step)),
    ]);
  }
  // Integer and tensor indices, from the last axis down, so earlier axes keep their positions.
  const gathers = steps
    .filter((s): s is Extract<Step<Value>, { kind: 'int' | 'tensor' }> => s.kind === 'int' || s.kind === 'tensor')
    .sort((a, b) => b.axis - a.axis);
  for (const g of gathers) {
    const indices = g.kind === 'int' ? ctx.constant(g.index, 'int64') : ctx.cast(g.index, 'int64');
    out = ctx.emit('Gather', [out, indices], { axis: g.axis });
  }
  const newAxes = steps.flatMap((s) => (s.kind === 'newaxis' ? [s.outAxis] : []));
  if (newAxes.length > 0) out = ctx.emit('Unsqueeze', [out, ctx.int64s(newAxes)]);
  return out === x.name ? ctx.emit('Identity', [x]) : out;
}

/**
 * The gradient of `x[index]`: zeros of x's shape with `grad` where the index read. The selected
 * block is put back axis by axis: a tensor index scatters-adds (repeated indices accumulate), a
 * strided slice interleaves zeros, and one pad places the block at its offsets.
 */
function indexGradient(grad: Tensor, x: Tensor, index: Index<Tensor>): Tensor {
  const steps = plan(x.shape.length, index);
  const byAxis = new Map<number, Step<Tensor>>();
  for (const s of steps) if (s.kind !== 'newaxis') byAxis.set(s.axis, s);
  // The selected block with one dim per input axis: drop new axes, restore integer-indexed ones as 1.
  const tensorStep = steps.find((s): s is Extract<Step<Tensor>, { kind: 'tensor' }> => s.kind === 'tensor');
  const block = x.shape.map((size, axis) => {
    const s = byAxis.get(axis);
    if (s === undefined) return size;
    if (s.kind === 'slice') return sliceLength(size, s.start, s.stop, s.step);
    return s.kind === 'tensor' ? numel(s.index.shape) : 1;
  });
  let g = reshape(grad, block);
  if (tensorStep !== undefined) {
    const { axis, index: at } = tensorStep;
    const positions = expand(
      reshape(to(at, 'int64'), block.map((d, i) => (i === axis ? d : 1))),
      block,
    );
    block[axis] = x.shape[axis]!;
    g = scatterAdd(newZeros(g, block), axis, positions, g);
  }
  const before = Array<number>(x.shape.length).fill(0);
  for (const s of steps) {
    if (s.kind === 'int') before[s.axis] = s.index < 0 ? s.index + x.shape[s.axis]! : s.index;
    if (s.kind !== 'slice') continue;
    const size = x.shape[s.axis]!;
    const [start, length] = sliceExtent(size, s.start, s.stop, s.step);
    before[s.axis] = start;
    if (s.step === 1 || length === 0) continue;
    // Put step - 1 zeros after each element, then drop those that run past the dim.
    const spread = pad(unsqueeze(g, s.axis + 1), padAt(g.shape.length + 1, s.axis + 1, 0, s.step - 1));
    const spreadShape = [...g.shape];
    spreadShape[s.axis] = length * s.step;
    g = reshape(spread, spreadShape);
    if (start + length * s.step > size) {
      g = getitem(g, [...Array.from({ length: s.axis }, () => slice()), slice(0, size - start)]);
    }
  }
  const pads = x.shape.flatMap((_, i) => {
    const axis = x.shape.length - 1 - i;
    return [before[axis]!, x.shape[axis]! - before[axis]! - g.shape[axis]!];
  });
  return pads.every((p) => p === 0) ? g : pad(g, pads);
}

/**
 * `index` with a 1-D boolean mask replaced by the positions where it holds, as torch reads
 * `x[mask]`; undefined when the index has no mask.
 */
function maskAsPositions(x: Tensor, index: Index<Tensor>): Index<Tensor> | undefined {
  const steps = plan(x.shape.length, index);
  const mask = steps.find((s) => s.kind === 'tensor' && s.index.dtype === 'bool');
  if (mask === undefined || mask.kind !== 'tensor') return undefined;
  const size = x.shape[mask.axis]!;
  if (mask.index.shape.length !== 1 || mask.index.shape[0] !== size) {
    throw new RangeError(
      `[getitem] the shape of the mask ${formatShape(mask.index.shape)} at index ${mask.axis} does not match ` +
        `the shape of the indexed tensor ${formatShape(x.shape)}; a mask is 1-D, one value per element of its dim`,
    );
  }
  const positions = reshape(nonzero(mask.index), [-1]);
  return Array.isArray(index) ? index.map((item) => (item === mask.index ? positions : item)) : positions;
}

/** `x[mask]` eagerly, as `x[positions]`; undefined when the index has no boolean mask. */
function selectByMask(x: unknown, index: unknown): unknown {
  if (!(x instanceof Tensor)) return undefined;
  const positions = maskAsPositions(x, index as Index<Tensor>);
  // The op by name: its definition cannot refer to its own result.
  return positions === undefined ? undefined : getOp('getitem')(x, positions);
}

/**
 * `x[index]`. A 1-D boolean mask selects the elements where it is true, as torch's `x[mask]`
 * (torchvision's `boxes[keep]`), in eager code: the result's size depends on the mask's values.
 * @example
 * F.getitem(arange(12).reshape([3, 4]), [slice(1), -1]); // [7, 11]
 */
export const getitem = defineOp({
  name: 'getitem',
  infer: (x: TensorMeta, index: Index): TensorMeta => {
    if (!isMeta(x)) throw new TypeError(`[getitem] cannot index ${describe(x)}`);
    return inferIndex(x, index);
  },
  direct: (x, index) => {
    const selected = selectByMask(x, index);
    if (selected !== undefined) return selected as never;
    if (!Array.isArray(x)) return undefined;
    const list = x as unknown as unknown[];
    // `x.shape[-2:]`, which traced code writes as `x.shape.slice(-2)`.
    if (index instanceof Slice && (index.step ?? 1) === 1) {
      return list.slice(index.start ?? undefined, index.stop ?? undefined) as never;
    }
    if (typeof index !== 'number' || !Number.isInteger(index)) {
      throw new TypeError(`[getitem] a list of sizes takes one integer index or a slice, got ${describe(index)}`);
    }
    if (index < -list.length || index >= list.length) {
      throw new RangeError(`[getitem] index ${index} is out of range for ${formatShape(list as number[])}`);
    }
    return list[index < 0 ? index + list.length : index] as never;
  },
  lower: (ctx, x, index) => lowerIndex(ctx, x, index as Index<Value>),
  backward: ({ grad, args: [x, index] }): ArgumentGradients => [indexGradient(grad, x, index as Index<Tensor>)],
});
