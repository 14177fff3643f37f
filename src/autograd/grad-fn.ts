/**
 * The backward graph. Each eager op call on a tensor that requires grad makes one `GradFn`, which
 * keeps what the op's backward rule reads (its arguments and outputs) and its edges to the
 * `GradFn`s of its inputs; a leaf input is reached through the tensor itself. The graph is built
 * as the forward runs, the way PyTorch's autograd builds it, and walked by `engine.ts`.
 */
import { AutogradError } from '../errors.js';
import type { AnyOp } from '../ops/op.js';
import { type DType, isFloating } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { isGradEnabled } from './grad-mode.js';

/** One tensor argument of an op that requires grad: where it sits, and where its gradient goes. */
export interface TensorInput {
  /** Position among the op's arguments. */
  readonly arg: number;
  /** Position within that argument when it is an array (`cat`'s list), else -1. */
  readonly item: number;
  /** The node that made the input, and which of its outputs it is; null for a leaf. */
  readonly fn: GradFn | null;
  readonly outputNr: number;
  /**
   * The input itself when it is a leaf (backward writes its `.grad`). A made tensor is not kept:
   * once backward frees the saved tensors, a kept loss must not hold every activation alive.
   */
  readonly leaf: Tensor | null;
  readonly shape: Shape;
  readonly dtype: DType;
}

export class GradFn {
  #args: readonly unknown[] | null;
  #outputs: readonly Tensor[] | null;

  constructor(
    readonly op: AnyOp,
    args: readonly unknown[],
    outputs: readonly Tensor[],
    /** The inputs that require grad: their gradients are what this node produces. */
    readonly inputs: readonly TensorInput[],
    /** Whether the op returned a list (its rule then gets and returns lists of gradients). */
    readonly listOutput: boolean,
  ) {
    this.#args = args;
    this.#outputs = outputs;
  }

  /** PyTorch's name for the node, `<Op>Backward0` (e.g. `Conv2dBackward0`), as `grad_fn` prints. */
  get name(): string {
    return `${this.op.name.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase())}Backward0`;
  }

  /** The nodes whose outputs fed this one, as PyTorch's `next_functions` (null for leaves). */
  get nextFunctions(): (GradFn | null)[] {
    return this.inputs.map((i) => i.fn);
  }

  /** The op's arguments, or an error once backward has freed them. */
  get args(): readonly unknown[] {
    if (this.#args === null) throw freedError();
    return this.#args;
  }

  get outputs(): readonly Tensor[] {
    if (this.#outputs === null) throw freedError();
    return this.#outputs;
  }

  /** Drops the saved tensors, so that the activations can be collected after backward. */
  release(): void {
    this.#args = null;
    this.#outputs = null;
  }

  toString(): string {
    return `<${this.name}>`;
  }
}

function freedError(): AutogradError {
  return new AutogradError(
    'Trying to backward through the graph a second time (or directly access saved tensors after they have ' +
      'already been freed). Saved intermediate values of the graph are freed when you call backward() or ' +
      'autograd.grad(). Specify { retainGraph: true } if you need to backward through the graph a second time ' +
      'or if you need to access saved tensors after calling backward.',
  );
}

function isPlainObject(x: unknown): boolean {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}

function edge(arg: number, item: number, t: Tensor): TensorInput {
  return {
    arg,
    item,
    fn: t.gradFn,
    outputNr: t.outputNr,
    leaf: t.gradFn === null ? t : null,
    shape: t.shape,
    dtype: t.dtype,
  };
}

function tensorInputs(op: AnyOp, args: readonly unknown[]): TensorInput[] {
  const found: TensorInput[] = [];
  args.forEach((a, arg) => {
    if (a instanceof Tensor) {
      if (a.requiresGrad) found.push(edge(arg, -1, a));
    } else if (Array.isArray(a)) {
      a.forEach((t: unknown, item) => {
        if (t instanceof Tensor && t.requiresGrad) found.push(edge(arg, item, t));
      });
    } else if (isPlainObject(a) && Object.values(a as object).some((v) => v instanceof Tensor && v.requiresGrad)) {
      // Options objects carry settings; a tensor hidden in one would silently get no gradient.
      throw new AutogradError(
        `[${op.name}] argument ${arg} is an options object holding a tensor that requires grad; ` +
          'pass tensors to be differentiated as arguments of their own',
      );
    }
  });
  return found;
}

/**
 * Called by dispatch after an eager op ran: when grad mode is on and an input requires grad, links
 * the op's floating-point outputs to a new `GradFn`. Integer and boolean results (comparisons,
 * indices) never require grad, as in PyTorch.
 */
export function recordOp(op: AnyOp, args: readonly unknown[], result: unknown): void {
  if (!isGradEnabled() || op.differentiable === false) return;
  const inputs = tensorInputs(op, args);
  if (inputs.length === 0) return;
  const listOutput = Array.isArray(result);
  const outputs = (listOutput ? result : [result]) as unknown[];
  if (!outputs.every((o): o is Tensor => o instanceof Tensor)) return;
  const differentiable = outputs.filter((o) => isFloating(o.dtype));
  if (differentiable.length === 0) return;
  const fn = new GradFn(op, args, outputs, inputs, listOutput);
  outputs.forEach((o, i) => {
    if (!isFloating(o.dtype)) return;
    o.gradFn = fn;
    o.outputNr = i;
    o.requiresGrad = true;
  });
}
