/**
 * Calling an op: record it when tracing, otherwise run it eagerly as a cached one-op ONNX model.
 */
import { getKernel } from '../runtime/kernel-cache.js';
import type { RawTensor } from '../runtime/native-session.js';
import { type DType } from '../tensor/dtype.js';
import { Tensor, type TensorMeta } from '../tensor/tensor.js';
import { GraphBuilder, type Value } from './lowering.js';
import type { AnyOp } from './op.js';
import { anyTraced, getTracingHook } from './tracing-hook.js';

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}

/**
 * Walks the arguments once: collects the tensors (in order), writes the kernel cache key, and
 * builds the arguments that `lower` receives, with tensors replaced by graph inputs.
 */
function prepareKernelArgs(
  args: readonly unknown[],
  shapeSpecific: boolean,
): { key: string; tensors: Tensor[]; lower: (b: GraphBuilder) => unknown[] } {
  const tensors: Tensor[] = [];
  const keyParts: string[] = [];
  const describe = (a: unknown): void => {
    if (a instanceof Tensor) {
      tensors.push(a);
      keyParts.push(`T${a.dtype}${shapeSpecific ? `[${a.shape.join(',')}]` : `#${a.shape.length}`}`);
    } else if (Array.isArray(a)) {
      keyParts.push('[');
      a.forEach(describe);
      keyParts.push(']');
    } else if (isPlainObject(a)) {
      keyParts.push('{');
      for (const k of Object.keys(a).sort()) {
        keyParts.push(JSON.stringify(k));
        describe(a[k]);
      }
      keyParts.push('}');
    } else {
      keyParts.push(a === undefined ? 'u' : JSON.stringify(a));
    }
    keyParts.push(',');
  };
  args.forEach(describe);

  const lower = (b: GraphBuilder): unknown[] => {
    let index = 0;
    const replace = (a: unknown): unknown => {
      if (a instanceof Tensor) {
        const i = index++;
        const shape = shapeSpecific ? [...a.shape] : a.shape.map((_, axis) => `in${i}_d${axis}`);
        return b.addInput(`in${i}`, a.dtype, shape) satisfies Value;
      }
      if (Array.isArray(a)) return a.map(replace);
      if (isPlainObject(a)) return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, replace(v)]));
      return a;
    };
    return args.map(replace);
  };
  return { key: keyParts.join(''), tensors, lower };
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
  const inferred = op.infer(...args) as TensorMeta | TensorMeta[];
  const metas = Array.isArray(inferred) ? inferred : [inferred];
  const prepared = prepareKernelArgs(args, op.shapeSpecific === true);
  const kernel = getKernel(`${op.name}(${prepared.key})`, () => {
    const b = new GraphBuilder();
    b.scope = op.name;
    const out = op.lower(b, ...prepared.lower(b));
    const names = Array.isArray(out) ? out : [out];
    return b.finish(
      op.name,
      names.map((name, i) => ({ name, dtype: metas[i]!.dtype })),
    );
  });
  const outputs = kernel
    .run(prepared.tensors.map((t) => ({ type: t.dtype, dims: t.shape, data: t.data })))
    .map(toTensor);
  return Array.isArray(inferred) ? outputs : outputs[0];
}

/** The entry point of every op call: functional, method, and module code alike. */
export function callOp(op: AnyOp, args: readonly unknown[], asMethod: boolean): unknown {
  const hook = getTracingHook();
  if (hook !== undefined && anyTraced(args)) return hook.record(op, args, asMethod);
  return runEager(op, args);
}
