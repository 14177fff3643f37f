/**
 * Calling an op: record it when tracing, otherwise run it eagerly as a cached one-op ONNX model.
 */
import { recordOp } from '../autograd/grad-fn.js';
import { getKernel } from '../runtime/kernel-cache.js';
import { checkOutputsFit } from '../runtime/memory.js';
import type { RawTensor } from '../runtime/native-session.js';
import { type DType } from '../tensor/dtype.js';
import { Tensor, type TensorMeta } from '../tensor/tensor.js';
import { KernelBuilder } from './kernel-builder.js';
import type { GraphBuilder, Value } from './lowering.js';
import type { AnyOp } from './op.js';
import { anyTraced, getTracingHook } from './tracing-hook.js';

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}

/**
 * Replaces the tensors among the arguments (in arrays and plain objects too) with inputs of the
 * kernel graph `b`, and returns the arguments `lower` receives and the tensors, in input order.
 */
function kernelArgs(
  b: GraphBuilder,
  args: readonly unknown[],
  shapeSpecific: boolean,
): { lowered: unknown[]; tensors: Tensor[] } {
  const tensors: Tensor[] = [];
  const replace = (a: unknown): unknown => {
    if (a instanceof Tensor) {
      const i = tensors.push(a) - 1;
      const shape = shapeSpecific ? [...a.shape] : a.shape.map((_, axis) => `in${i}_d${axis}`);
      return b.addInput(`in${i}`, a.dtype, shape) satisfies Value;
    }
    if (Array.isArray(a)) return a.map(replace);
    if (isPlainObject(a)) return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, replace(v)]));
    return a;
  };
  return { lowered: args.map(replace), tensors };
}

/**
 * ONNX Runtime has CPU kernels for few types besides float32 (no float64 convolution or pooling,
 * for one). Its error names neither the featurefx op nor the fix; this one does.
 */
function unsupportedTypes(op: string, tensors: readonly Tensor[], cause: unknown): TypeError | undefined {
  const missing = /Could not find an implementation for (\w+)/.exec(cause instanceof Error ? cause.message : '');
  if (missing === null) return undefined;
  const types = tensors.map((t, i) => `input ${i} is ${t.dtype}`).join(', ');
  return new TypeError(
    `[${op}] ONNX Runtime has no ${missing[1]} kernel for these types (${types}). ` +
      "Convert the tensors to float32 first, e.g. x.to('float32').",
    { cause },
  );
}

function toTensor(raw: RawTensor): Tensor {
  return new Tensor(raw.type as DType, raw.dims, raw.data as Tensor['data']);
}

/** Runs `op` on concrete arguments: checks them with its shape rule, then runs its kernel. */
export function runEager(op: AnyOp, args: readonly unknown[]): unknown {
  if (op.direct !== undefined) {
    const result = op.direct(...args);
    if (result !== undefined) return result;
  }
  if (op.scalar !== undefined && args.every((a) => typeof a === 'number')) return op.scalar(...(args as number[]));
  if (op.view === true && args[0] instanceof Tensor) {
    // Tensors are never written by ops, so a new shape over the same data is the whole result.
    const meta = op.infer(...args) as TensorMeta;
    const result = new Tensor(args[0].dtype, meta.shape, args[0].data);
    recordOp(op, args, result);
    return result;
  }
  const inferred = op.infer(...args) as TensorMeta | TensorMeta[];
  const metas = Array.isArray(inferred) ? inferred : [inferred];
  checkOutputsFit(op.name, metas);
  // The op is lowered on every call (microseconds): its graph, with constants as inputs, is the
  // kernel's signature, and the constants' values are this call's feeds.
  const b = new KernelBuilder();
  b.scope = op.name;
  const { lowered, tensors } = kernelArgs(b, args, op.shapeSpecific === true);
  const out = op.lower(b, ...lowered);
  const names = Array.isArray(out) ? out : [out];
  const graph = b.finish(
    op.name,
    names.map((name, i) => ({ name, dtype: metas[i]!.dtype })),
  );
  let kernel;
  try {
    kernel = getKernel(graph);
  } catch (cause) {
    throw unsupportedTypes(op.name, tensors, cause) ?? cause;
  }
  const feeds: RawTensor[] = tensors.map((t) => ({ type: t.dtype, dims: t.shape, data: t.data }));
  const outputs = kernel.run([...feeds, ...b.constantFeeds]).map(toTensor);
  const result = Array.isArray(inferred) ? outputs : outputs[0];
  recordOp(op, args, result);
  return result;
}

/** The entry point of every op call: functional, method, and module code alike. */
export function callOp(op: AnyOp, args: readonly unknown[], asMethod: boolean): unknown {
  const hook = getTracingHook();
  if (hook !== undefined && anyTraced(args)) return hook.record(op, args, asMethod);
  return runEager(op, args);
}
