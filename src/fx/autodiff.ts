/**
 * Symbolic differentiation of a lowered graph. While a graph is lowered to ONNX, every op applied
 * is written on a tape (op, arguments, outputs, as ONNX values). `differentiate` walks the tape
 * backwards and calls each op's backward rule, the very rule eager backward runs, on stand-ins for
 * the values: the ops the rule calls are lowered into the same graph instead of running. So the
 * gradient of a score with respect to a parameter or an intermediate node becomes more ONNX nodes,
 * and one session (or a browser) computes forward and backward together.
 */
import { AutogradError } from '../errors.js';
import { add } from '../ops/add.js';
import { type GraphBuilder, type Value, isValue } from '../ops/lowering.js';
import type { AnyOp } from '../ops/op.js';
import { withTracingHook } from '../ops/tracing-hook.js';
import { full } from '../tensor/creation.js';
import { isFloating } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { LoweringHook, SymbolicTensor, mapValues, symbolic } from './stand-ins.js';

/** One op applied during lowering: what its backward rule needs. */
export interface TapeEntry {
  op: AnyOp;
  args: readonly unknown[];
  outputs: readonly Value[];
  listOutput: boolean;
}

/**
 * Runs `fn` with ops on graph values lowered into `builder`: `fn` gets each of `values` with its
 * ONNX values (also inside arrays and plain objects: a feature extractor's dict) as tensor
 * stand-ins, and the tensors it returns come back as ONNX values. With `tape`, the ops are
 * recorded for `differentiate` (a loss or a score computed after a model's graph, say).
 */
export function lowerOps(
  builder: GraphBuilder,
  values: readonly unknown[],
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the caller knows the structure it passed
  fn: (...tensors: any[]) => readonly unknown[],
  tape?: TapeEntry[],
): Value[] {
  const results = new LoweringHook(builder, { tape }).run(fn, values) as unknown[];
  return results.map((r) => {
    if (r instanceof SymbolicTensor) return r;
    throw new TypeError(`[lowerOps] the function must return tensors computed from its arguments, got ${String(r)}`);
  });
}

/**
 * The value names computed from any of `sources`, following the tape forward. Integer and boolean
 * results (argmax, comparisons) carry no gradient, so the chain stops there, as in eager autograd.
 */
function dependents(tape: readonly TapeEntry[], sources: readonly Value[]): Set<string> {
  const found = new Set(sources.map((s) => s.name));
  const reads = (a: unknown): boolean => (isValue(a) ? found.has(a.name) : Array.isArray(a) ? a.some(reads) : false);
  for (const entry of tape) {
    if (entry.op.differentiable === false || !entry.args.some(reads)) continue;
    for (const o of entry.outputs) if (isFloating(o.dtype)) found.add(o.name);
  }
  return found;
}

/**
 * Appends to `builder` the gradient of `output` (a one-element value, or any value with `seed`,
 * its gradient) with respect to each of `wrt`, and returns those gradients in order; null for a
 * value `output` does not depend on.
 */
export function differentiate(
  builder: GraphBuilder,
  tape: readonly TapeEntry[],
  output: Value,
  wrt: readonly Value[],
  seed?: Value,
): (Value | null)[] {
  const depends = dependents(tape, wrt);
  const grads = new Map<string, SymbolicTensor>();
  const hook = new LoweringHook(builder);
  withTracingHook(hook, () => {
    const out = symbolic(output);
    const filledWith = (like: SymbolicTensor, value: number): SymbolicTensor =>
      hook.constant(full(like.shape, value, { dtype: like.dtype }));
    // What a rule returns: a graph value, or a real tensor it made (a constant), or nothing.
    const asGradient = (g: unknown): SymbolicTensor | undefined =>
      g instanceof SymbolicTensor ? g : g instanceof Tensor ? hook.constant(g) : undefined;
    grads.set(out.name, seed === undefined ? filledWith(out, 1) : symbolic(seed));
    const accumulate = (v: Value, g: SymbolicTensor): void => {
      const current = grads.get(v.name);
      grads.set(v.name, current === undefined ? g : (add(current as never, g as never) as unknown as SymbolicTensor));
    };
    for (let i = tape.length - 1; i >= 0; i--) {
      const entry = tape[i]!;
      const outputGrads = entry.outputs.map((o) => grads.get(o.name));
      if (outputGrads.every((g) => g === undefined)) continue;
      const needs = entry.args.map((a) => {
        const reads = (x: unknown): boolean =>
          isValue(x) ? depends.has(x.name) : Array.isArray(x) ? x.some(reads) : false;
        return reads(a);
      });
      if (!needs.some(Boolean)) continue;
      if (entry.op.backward === undefined) {
        throw new AutogradError(`[${entry.op.name}] is not differentiable: featurefx has no backward rule for it`);
      }
      const outputs = entry.outputs.map(symbolic);
      const filled = outputs.map((o, k) => outputGrads[k] ?? filledWith(o, 0));
      const args = entry.args.map((a) => mapValues(a, symbolic));
      const result = entry.op.backward({
        grad: entry.listOutput ? filled : filled[0],
        args,
        output: entry.listOutput ? outputs : outputs[0],
        needs,
      });
      entry.args.forEach((a, k) => {
        if (!needs[k]) return;
        const g = result[k];
        if (isValue(a)) {
          const gradient = asGradient(g);
          if (depends.has(a.name) && gradient !== undefined) accumulate(a, gradient);
        } else if (Array.isArray(a)) {
          a.forEach((item: unknown, j) => {
            const gradient = asGradient(Array.isArray(g) ? (g[j] as unknown) : undefined);
            if (isValue(item) && depends.has(item.name) && gradient !== undefined) accumulate(item, gradient);
          });
        }
      });
    }
  });
  return wrt.map((w) => grads.get(w.name) ?? null);
}
