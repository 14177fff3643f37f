/**
 * The backward pass: walks the `GradFn` graph from the outputs to the leaves in topological
 * order, calls each op's backward rule (from the op registry) with the gradient of its outputs,
 * and sums the gradients that reach each tensor. `backward` stores them in the leaves' `.grad`;
 * `grad` returns those of chosen tensors and leaves `.grad` alone.
 */
import { AutogradError } from '../errors.js';
import { add } from '../ops/add.js';
import { to } from '../ops/to.js';
import { formatShape } from '../tensor/shape.js';
import { full } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import type { GradFn, TensorInput } from './grad-fn.js';
import { isGradEnabled, setGradEnabled } from './grad-mode.js';

export interface BackwardOptions {
  /** Keep the graph's saved tensors so that backward can run through it again (default: createGraph). */
  retainGraph?: boolean;
  /** Record the backward pass itself, for higher-order gradients (default false). */
  createGraph?: boolean;
}

export interface GradOptions extends BackwardOptions {
  /** The gradient of each output (needed for outputs with more than one element). */
  gradOutputs?: Tensor | readonly (Tensor | null)[] | null;
  /** Return null for an input the outputs do not depend on, instead of raising (default false). */
  allowUnused?: boolean;
}

/** Where gradients go: into `.grad` (backward) or into a map for chosen tensors (grad). */
interface Sink {
  /** Tensors whose gradient is captured, for `grad`; absent for `backward`. */
  readonly captured?: Map<Tensor, Tensor | null>;
}

/** Whether `input` is one of the tensors `sink` captures: a leaf by identity, a made one by its node's output. */
function isCaptured(input: TensorInput, sink: Sink): boolean {
  if (sink.captured === undefined) return false;
  if (input.leaf !== null) return sink.captured.has(input.leaf);
  for (const t of sink.captured.keys()) if (t.gradFn === input.fn && t.outputNr === input.outputNr) return true;
  return false;
}

function sumInto(current: Tensor | null | undefined, g: Tensor): Tensor {
  return current === null || current === undefined ? g : add(current, g);
}

/** Checks an output and makes its seed gradient: given, or 1 for a one-element output. */
function seed(output: Tensor, gradient: Tensor | null | undefined, index: number, api: string): Tensor {
  if (!(output instanceof Tensor)) throw new TypeError(`[${api}] expects tensors, got ${String(output)}`);
  if (!output.requiresGrad) {
    throw new AutogradError(
      `[${api}] element ${index} of tensors does not require grad and does not have a gradFn: ` +
        'the output was computed from tensors that do not require grad (or inside noGrad)',
    );
  }
  if (gradient === null || gradient === undefined) {
    if (output.numel() !== 1) {
      throw new AutogradError(
        `[${api}] grad can be implicitly created only for scalar outputs; output ${index} has shape ` +
          `${formatShape(output.shape)}: pass the gradient of the output (e.g. ones of its shape)`,
      );
    }
    return full(output.shape, 1, { dtype: output.dtype });
  }
  if (!(gradient instanceof Tensor)) throw new TypeError(`[${api}] gradient ${index} must be a Tensor`);
  if (gradient.shape.join() !== output.shape.join()) {
    throw new AutogradError(
      `[${api}] mismatch in shape: gradient ${index} has shape ${formatShape(gradient.shape)} and output ` +
        `${index} has shape ${formatShape(output.shape)}`,
    );
  }
  return gradient.dtype === output.dtype ? gradient : to(gradient, output.dtype);
}

/** Every node reachable from `roots`, and how many edges lead into each from reachable nodes. */
function countDependencies(roots: readonly GradFn[]): Map<GradFn, number> {
  const dependencies = new Map<GradFn, number>();
  const stack = [...roots];
  for (const r of roots) dependencies.set(r, 0);
  while (stack.length > 0) {
    const fn = stack.pop()!;
    for (const { fn: next } of fn.inputs) {
      if (next === null) continue;
      const seen = dependencies.has(next);
      dependencies.set(next, (dependencies.get(next) ?? 0) + 1);
      if (!seen) stack.push(next);
    }
  }
  return dependencies;
}

/**
 * The nodes whose backward can reach a captured tensor (for `grad`), so that the rest (a frozen
 * backbone's parameters, say) is never computed. With no capture every node counts.
 */
function usefulNodes(nodes: Iterable<GradFn>, sink: Sink): (fn: GradFn) => boolean {
  if (sink.captured === undefined) return () => true;
  const memo = new Map<GradFn, boolean>();
  const useful = (fn: GradFn): boolean => {
    const known = memo.get(fn);
    if (known !== undefined) return known;
    memo.set(fn, false); // the graph is acyclic; this only guards the recursion
    const result = fn.inputs.some((input) => isCaptured(input, sink) || (input.fn !== null && useful(input.fn)));
    memo.set(fn, result);
    return result;
  };
  for (const fn of nodes) useful(fn);
  return (fn) => memo.get(fn) === true;
}

function wantedBy(input: TensorInput, sink: Sink, useful: (fn: GradFn) => boolean): boolean {
  if (isCaptured(input, sink)) return true;
  return input.fn === null ? sink.captured === undefined : useful(input.fn);
}

/** The gradient a rule gave for one input, checked against the input's shape. */
function gradientFor(fn: GradFn, grads: readonly unknown[], input: TensorInput): Tensor | null {
  const forArg = grads[input.arg];
  const g = input.item === -1 ? forArg : Array.isArray(forArg) ? (forArg[input.item] as unknown) : undefined;
  if (g === null || g === undefined) return null;
  if (!(g instanceof Tensor) || g.shape.join() !== input.shape.join()) {
    const got = g instanceof Tensor ? `shape ${formatShape(g.shape)}` : String(g);
    throw new AutogradError(
      `[${fn.op.name}] its backward rule returned ${got} for argument ${input.arg}` +
        `${input.item === -1 ? '' : ` item ${input.item}`}, of shape ${formatShape(input.shape)}`,
    );
  }
  return g.dtype === input.dtype ? g : to(g, input.dtype);
}

/** Runs one node's backward rule on the summed gradients of its outputs. */
function applyRule(fn: GradFn, outputGrads: readonly (Tensor | null)[], needs: boolean[]): readonly unknown[] {
  const { op } = fn;
  if (op.backward === undefined) {
    throw new AutogradError(
      `[${op.name}] is not differentiable: featurefx has no backward rule for it. Compute it on ` +
        'tensors that do not require grad (detach() them), or inside noGrad()',
    );
  }
  const outputs = fn.outputs;
  const grads = outputs.map((o, i) => outputGrads[i] ?? full(o.shape, 0, { dtype: o.dtype }));
  return op.backward({
    grad: fn.listOutput ? grads : grads[0],
    args: fn.args as unknown[],
    output: fn.listOutput ? outputs : outputs[0],
    needs,
  });
}

/** The backward pass from `outputs` seeded with `seeds`, into `sink`. */
function run(outputs: readonly Tensor[], seeds: readonly Tensor[], options: BackwardOptions, sink: Sink): void {
  const deliver = (tensor: Tensor, g: Tensor): void => {
    if (sink.captured !== undefined) {
      if (sink.captured.has(tensor)) sink.captured.set(tensor, sumInto(sink.captured.get(tensor), g));
    } else if (tensor.isLeaf || tensor.retainsGrad) {
      tensor.grad = sumInto(tensor.grad, options.createGraph === true ? g : g.detach());
    }
  };
  const pending = new Map<GradFn, (Tensor | null)[]>();
  const roots: GradFn[] = [];
  outputs.forEach((o, i) => {
    if (o.gradFn === null) return deliver(o, seeds[i]!);
    const buffer = pending.get(o.gradFn) ?? [];
    buffer[o.outputNr] = sumInto(buffer[o.outputNr], seeds[i]!);
    pending.set(o.gradFn, buffer);
    if (!roots.includes(o.gradFn)) roots.push(o.gradFn);
  });
  const dependencies = countDependencies(roots);
  const useful = usefulNodes(dependencies.keys(), sink);
  const ready = roots.filter((r) => dependencies.get(r) === 0);
  const previousMode = isGradEnabled();
  setGradEnabled(options.createGraph === true);
  try {
    while (ready.length > 0) {
      const fn = ready.pop()!;
      const outputGrads = pending.get(fn) ?? [];
      pending.delete(fn);
      // A non-leaf that retains its gradient, or one `grad` asked for, gets it here.
      fn.outputs.forEach((o, i) => {
        const g = outputGrads[i];
        if (g !== null && g !== undefined && (o.retainsGrad || sink.captured?.has(o) === true)) deliver(o, g);
      });
      const needs = fn.args.map((_, arg) =>
        fn.inputs.some((input) => input.arg === arg && wantedBy(input, sink, useful)),
      );
      const reached = outputGrads.some((g) => g !== null && g !== undefined);
      const grads = useful(fn) && reached ? applyRule(fn, outputGrads, needs) : [];
      for (const input of fn.inputs) {
        const g = needs[input.arg] === true ? gradientFor(fn, grads, input) : null;
        const next = input.fn;
        if (next === null) {
          if (g !== null) deliver(input.leaf!, g);
          continue;
        }
        if (g !== null) {
          const buffer = pending.get(next) ?? [];
          buffer[input.outputNr] = sumInto(buffer[input.outputNr], g);
          pending.set(next, buffer);
        }
        const left = dependencies.get(next)! - 1;
        dependencies.set(next, left);
        if (left === 0) ready.push(next);
      }
      if (!(options.retainGraph ?? options.createGraph === true)) fn.release();
    }
  } finally {
    setGradEnabled(previousMode);
  }
}

function asList<T>(x: T | readonly T[]): readonly T[] {
  return Array.isArray(x) ? (x as readonly T[]) : [x as T];
}

/**
 * Computes the gradient of `tensors` with respect to every leaf that requires grad and adds it to
 * the leaf's `.grad`, as `torch.autograd.backward`. The graph is freed unless `retainGraph`.
 */
export function backward(
  tensors: Tensor | readonly Tensor[],
  gradTensors?: Tensor | readonly (Tensor | null)[] | null,
  options: BackwardOptions = {},
): void {
  const outputs = asList(tensors);
  const given = gradTensors === null || gradTensors === undefined ? [] : asList(gradTensors);
  const seeds = outputs.map((o, i) => seed(o, given[i], i, 'backward'));
  run(outputs, seeds, options, {});
}

/**
 * The gradients of `outputs` with respect to `inputs`, as `torch.autograd.grad`: returned, not
 * stored in `.grad`, and only the part of the graph that leads to `inputs` is computed.
 * @example
 * const x = tensor([1, 2, 3], { requiresGrad: true });
 * const [dx] = autograd.grad(x.mul(x).sum(), [x]); // [2, 4, 6]
 */
export function grad(
  outputs: Tensor | readonly Tensor[],
  inputs: Tensor | readonly Tensor[],
  options: GradOptions = {},
): (Tensor | null)[] {
  const outs = asList(outputs);
  const ins = asList(inputs);
  const given = options.gradOutputs === null || options.gradOutputs === undefined ? [] : asList(options.gradOutputs);
  const seeds = outs.map((o, i) => seed(o, given[i], i, 'grad'));
  ins.forEach((t, i) => {
    if (!(t instanceof Tensor) || !t.requiresGrad) {
      throw new AutogradError(`[grad] input ${i} does not require grad; set requiresGrad on it before the forward`);
    }
  });
  const captured = new Map<Tensor, Tensor | null>(ins.map((t) => [t, null]));
  run(outs, seeds, options, { captured });
  return ins.map((t, i) => {
    const g = captured.get(t) ?? null;
    if (g === null && options.allowUnused !== true) {
      throw new AutogradError(
        `[grad] one of the differentiated tensors (input ${i}) appears to not have been used in the graph. ` +
          'Set { allowUnused: true } if this is the desired behavior',
      );
    }
    return g;
  });
}
