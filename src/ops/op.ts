/**
 * The shape of an op. Each op is declared once, in its own file under src/ops/, with:
 *
 * - `name`: PyTorch's name for it (`conv2d`, `adaptive_avg_pool2d`); graph node names derive
 *   from it, so it must be torch's for node names to match torchvision's.
 * - `infer`: checks the arguments and gives the output dtype and shape. It runs on real tensors
 *   (eager calls check their arguments with it) and on shape-only metadata (shape propagation).
 * - `lower`: emits the ONNX nodes that compute it. Eager execution runs this as a cached one-node
 *   model; ONNX export concatenates the lowerings of a whole graph.
 * - optionally `scalar`: the result when every argument is a plain number, so that size arithmetic
 *   such as `h * 2` on traced sizes (`F.mul(h, 2)`) runs in plain JS when executed.
 * - optionally `direct`: a pure-JS implementation for calls that only move metadata (`size`, `getitem`
 *   on a list of sizes). It is tried first, by eager calls and by shape propagation alike; returning
 *   `undefined` declines, and the call proceeds with `infer` and the kernel.
 * - `backward`: the op's derivative, written with ops (so it runs eagerly on the same kernels, and
 *   traces and exports like any other code). An op without one raises "is not differentiable" when
 *   backward reaches it; ops whose results are never floating point (comparisons) need none.
 *
 * From this one definition come the functional API (`F.relu`), the `Tensor` method (`x.relu()`),
 * tracing (a traced argument records a node instead of running) and export.
 */
import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import type { LoweringContext, Value } from './lowering.js';

/** Maps shape-only argument types to the types users pass and get: metadata becomes `Tensor`. */
export type Public<T> = T extends TensorMeta
  ? Tensor
  : T extends readonly (infer E)[]
    ? readonly Public<E>[]
    : T extends null | undefined
      ? T
      : T;

/** Maps argument types to those `lower` receives: tensors become ONNX values. */
export type Lowered<T> = T extends TensorMeta ? Value : T extends readonly (infer E)[] ? Lowered<E>[] : T;

type PublicArgs<A extends unknown[]> = { [K in keyof A]: Public<A[K]> };
type LoweredArgs<A extends unknown[]> = { [K in keyof A]: Lowered<A[K]> };

export interface OpSpec<A extends unknown[], R> {
  name: string;
  infer: (...args: A) => R;
  lower: (ctx: LoweringContext, ...args: LoweredArgs<A>) => string | string[];
  /** True when the lowering reads concrete input sizes, so eager kernels are cached per shape. */
  shapeSpecific?: boolean;
  scalar?: (...args: number[]) => number;
  direct?: (...args: PublicArgs<A>) => Public<R> | undefined;
  backward?: (ctx: BackwardContext<A, R>) => ArgumentGradients;
  /**
   * True for an op whose result is its first argument's data in another shape (reshape,
   * unsqueeze, ...): eagerly, the result shares that data instead of a kernel copying it.
   */
  view?: true;
  /**
   * False for an op whose result never carries a gradient although it is floating point: a new
   * tensor of zeros, running statistics. Its results do not require grad, as in PyTorch.
   */
  differentiable?: false;
  /**
   * True for an op called for its effect (a check that throws), which dead-code elimination keeps
   * although nothing uses its result: torch.fx's side-effectful functions (`torch._assert`).
   */
  impure?: true;
}

/** What a backward rule reads. Tensors are real tensors when eager, traced values when traced. */
export interface BackwardContext<A extends unknown[], R> {
  /** The gradient of the output (for a list-valued op, one per output; zeros for an unused one). */
  grad: Public<R>;
  /** The op's arguments as it was called. */
  args: PublicArgs<A>;
  /** The op's result. */
  output: Public<R>;
  /** Per argument, whether its gradient is wanted (a rule may skip the others and return null). */
  needs: readonly boolean[];
}

/**
 * The gradients of the arguments, by position: a tensor for a tensor argument (its shape), a list
 * for a list argument (`cat`'s), null or undefined where none is wanted or there is none.
 */
export type ArgumentGradients = readonly unknown[];

/** A registered op: callable as users call it (`F.relu(x)`), carrying its spec. */
export type Op<A extends unknown[] = unknown[], R = unknown> = ((...args: PublicArgs<A>) => Public<R>) &
  Readonly<OpSpec<A, R>>;

/** Loosely typed view used by dispatch, tracing and export, which handle every op alike. */
export type AnyOp = Op<unknown[], unknown>;
