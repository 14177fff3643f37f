/**
 * Stand-ins: tensors that have a shape and a dtype but no data, on which ops write ONNX nodes (or
 * only compute shapes) instead of running. JavaScript that the tracer records as one node, a leaf
 * module's forward or a wrapped function, is lowered by running it on stand-ins; so are backward
 * rules (`differentiate`) and the code a compiled training step adds after the model.
 *
 * A stand-in's shape is concrete: code may branch on a size or compute with it in JavaScript, and
 * the graph written is then specific to those sizes. Sessions are shared between input shapes only
 * when the graphs written for them are identical (see `graphKey`), so that specialisation is never
 * wrong, only less shared.
 */
import { ExportError } from './export-error.js';
import { type GraphBuilder, type Value, isValue } from '../ops/lowering.js';
import type { AnyOp } from '../ops/op.js';
import { TRACED, type TracingHook, withTracingHook } from '../ops/tracing-hook.js';
import { normalizeDim } from '../tensor/shape.js';
import { Tensor, type TensorMeta } from '../tensor/tensor.js';
import type { TapeEntry } from './autodiff.js';
import { isPlainObject } from './node.js';

/**
 * An ONNX value standing in for a tensor: it has the `Tensor` methods (so code may write
 * `x.reshape(...)`), a static shape and dtype, and no data.
 */
export class SymbolicTensor {
  readonly kind = 'value';
  declare readonly [TRACED]: true;

  /**
   * @param hint For a size computed in the graph (`F.size(x, 1)` and arithmetic on it): its value
   * for the shapes being lowered, which shape rules use while the graph computes it.
   */
  constructor(
    readonly name: string,
    readonly dtype: Tensor['dtype'],
    readonly shape: readonly number[],
    readonly hint?: number,
  ) {}

  /** Arithmetic in JavaScript would give NaN: a size computed in the graph needs ops (`F.add`, ...). */
  [Symbol.toPrimitive](): never {
    throw new ExportError(
      `the graph value '${this.name}' was used as a JS number; in code lowered to ONNX, compute with sizes from ` +
        'F.size(x, dim) through ops (F.add, F.sub, F.mul, F.floordiv), or read x.shape for fixed numbers',
    );
  }

  /** Code that reads data (`.item()`, `.data`, `.toArray()`) cannot be lowered: it needs values. */
  get data(): never {
    throw new ExportError(
      'the code reads tensor data (.data, .item(), .toArray()), which exists only when the model runs; ONNX ' +
        'cannot hold a JavaScript decision on it',
    );
  }
}
Object.setPrototypeOf(SymbolicTensor.prototype, Tensor.prototype);
Object.defineProperty(SymbolicTensor.prototype, TRACED, { value: true });

export function symbolic(v: Value): SymbolicTensor {
  if (v instanceof SymbolicTensor) return v;
  if (!v.shape.every((d): d is number => typeof d === 'number')) {
    // Lowering gives every value its concrete sizes; only a session's declared inputs are symbolic.
    throw new Error(`[stand-ins] value '${v.name}' has no concrete shape [${v.shape.join(', ')}]`);
  }
  return new SymbolicTensor(v.name, v.dtype, v.shape);
}

/** `x` with every ONNX value in it (also inside arrays and plain objects) replaced by `f`'s result. */
export function mapValues(x: unknown, f: (v: Value) => unknown): unknown {
  if (isValue(x)) return f(x);
  if (Array.isArray(x)) return x.map((item) => mapValues(item, f));
  if (isPlainObject(x)) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, mapValues(v, f)]));
  return x;
}

const isHinted = (a: unknown): boolean =>
  (a instanceof SymbolicTensor && a.hint !== undefined) || (Array.isArray(a) && a.some(isHinted));

/** An argument with graph sizes replaced by their values for the shapes being lowered. */
const withHints = (a: unknown): unknown =>
  a instanceof SymbolicTensor && a.hint !== undefined ? a.hint : Array.isArray(a) ? a.map(withHints) : a;

/** Options of a lowering hook. */
export interface LoweringHookOptions {
  /** Where every op applied is written, for `differentiate`. */
  tape?: TapeEntry[] | undefined;
  /**
   * The value of a real tensor the code reads (a module's parameter, named by its path), or
   * undefined for one it made, which becomes a constant.
   */
  tensorValue?: (t: Tensor) => Value | undefined;
}

/** Lowers the ops code calls on stand-ins into `builder`, with shapes from the ops' shape rules. */
export class LoweringHook implements TracingHook {
  constructor(
    private readonly builder: GraphBuilder,
    private readonly options: LoweringHookOptions = {},
  ) {}

  /** A real tensor the code reads: its value when it is a known one, else a constant. */
  constant(t: Tensor): SymbolicTensor {
    const known = this.options.tensorValue?.(t);
    if (known !== undefined) return symbolic(known);
    const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    return new SymbolicTensor(this.builder.addConstant(t.dtype, t.shape, raw.slice()), t.dtype, t.shape);
  }

  record(op: AnyOp, rawArgs: readonly unknown[]): unknown {
    const toValue = (a: unknown): unknown =>
      a instanceof SymbolicTensor ? a : a instanceof Tensor ? this.constant(a) : Array.isArray(a) ? a.map(toValue) : a;
    const args = rawArgs.map(toValue);
    const x = args[0];
    // `F.size(x, dim)` stays a graph value (with its value for these shapes as a hint), so that
    // code computing with it writes a graph for every size; `x.shape` gives plain numbers.
    if (op.name === 'size' && x instanceof SymbolicTensor && typeof args[1] === 'number') {
      const hint = x.shape[normalizeDim(args[1], x.shape.length, 'size')]!;
      return new SymbolicTensor(op.lower(this.builder, ...args) as string, 'int64', [], hint);
    }
    const hinted = args.some(isHinted);
    if (!hinted && op.direct !== undefined) {
      const picked = op.direct(...args);
      if (picked !== undefined) return picked;
    }
    // Size arithmetic on graph sizes: lowered, and computed on the hints for the shape rules.
    const hints = args.map(withHints);
    if (hinted && op.scalar !== undefined && hints.every((h) => typeof h === 'number')) {
      const hint = op.scalar(...(hints as number[]));
      return new SymbolicTensor(op.lower(this.builder, ...args) as string, 'int64', [], hint);
    }
    const metas = hints.map((a) => mapValues(a, (v): TensorMeta => ({ dtype: v.dtype, shape: v.shape as number[] })));
    const inferred = op.infer(...metas) as TensorMeta | TensorMeta[];
    const out = op.lower(this.builder, ...args);
    const names = Array.isArray(out) ? out : [out];
    const list = Array.isArray(inferred) ? inferred : [inferred];
    const values = names.map((name, i) => new SymbolicTensor(name, list[i]!.dtype, list[i]!.shape));
    this.options.tape?.push({ op, args, outputs: values, listOutput: Array.isArray(inferred) });
    return Array.isArray(inferred) ? values : values[0];
  }

  /**
   * Runs `fn` on `args` with their ONNX values as stand-ins (also inside arrays and plain objects:
   * a feature extractor's dict), and returns its result with stand-ins as ONNX values and real
   * tensors it returns as constants.
   */
  run(fn: (...args: never[]) => unknown, args: readonly unknown[]): unknown {
    const back = (r: unknown): unknown => {
      if (r instanceof SymbolicTensor) return r;
      if (r instanceof Tensor) return this.constant(r);
      if (Array.isArray(r)) return r.map(back);
      if (isPlainObject(r)) return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, back(v)]));
      return r;
    };
    return withTracingHook(this, () =>
      back((fn as (...a: unknown[]) => unknown)(...args.map((a) => mapValues(a, symbolic)))),
    );
  }
}

/** Computes only shapes: what shape propagation runs leaf modules and wrapped functions with. */
export class MetaHook implements TracingHook {
  record(op: AnyOp, args: readonly unknown[]): unknown {
    if (op.direct !== undefined) {
      const picked = op.direct(...args);
      if (picked !== undefined) return picked;
    }
    const inferred = op.infer(...args) as TensorMeta | TensorMeta[];
    const stand = (m: TensorMeta): SymbolicTensor => new SymbolicTensor('', m.dtype, m.shape);
    return Array.isArray(inferred) ? inferred.map(stand) : stand(inferred);
  }

  /** Runs `fn` on metadata (`{ dtype, shape }`) and returns its result's metadata. */
  run(fn: (...args: never[]) => unknown, args: readonly unknown[]): unknown {
    const toStandIn = (x: unknown): unknown => {
      if (x instanceof Tensor) return x;
      if (typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x) {
        const m = x as TensorMeta;
        return new SymbolicTensor('', m.dtype, m.shape);
      }
      if (Array.isArray(x)) return x.map(toStandIn);
      if (isPlainObject(x)) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, toStandIn(v)]));
      return x;
    };
    const toMeta = (r: unknown): unknown => {
      if (r instanceof SymbolicTensor || r instanceof Tensor) return { dtype: r.dtype, shape: [...r.shape] };
      if (Array.isArray(r)) return r.map(toMeta);
      if (isPlainObject(r)) return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, toMeta(v)]));
      return r;
    };
    return withTracingHook(this, () => toMeta((fn as (...a: unknown[]) => unknown)(...args.map(toStandIn))));
  }
}
