/**
 * Leaf functions: functions recorded as one `call_function` node instead of being traced through.
 *
 * torch.fx's `wrap('len')` patches the globals of the calling Python module. JavaScript module
 * bindings cannot be patched from outside, so here the call sites use the wrapper that `wrap`
 * returns. A wrapper made with `{ global: true }` (the default, like `torch.fx.wrap`) is a leaf in
 * every trace; one made with `{ global: false }` is traced through unless a tracer lists it in
 * `autowrapFunctions` (torchvision's per-tracer option). Outside tracing a wrapper just calls
 * the function.
 */
import { anyTraced } from '../ops/tracing-hook.js';

export interface WrapOptions {
  /** Leaf in every trace (true, default) or only where `autowrapFunctions` lists it (false). */
  global?: boolean;
}

/** What wrappers need from the tracer running now. */
export interface WrapHost {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any user function
  wrapsFunction(fn: Function): boolean;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any user function
  recordFunctionCall(fn: Function, args: readonly unknown[]): unknown;
}

let activeHost: WrapHost | undefined;

export function withWrapHost<T>(host: WrapHost, body: () => T): T {
  const previous = activeHost;
  activeHost = host;
  try {
    return body();
  } finally {
    activeHost = previous;
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any user function
const globallyWrapped = new WeakSet<Function>();
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any user function
const originals = new WeakMap<Function, Function>();

/**
 * Makes `fn` a leaf function for tracing: calls with traced arguments become one graph node.
 *
 * @example
 * const myLen = wrap(function len(x: Tensor): number { return x.shape[0]!; });
 */
export function wrap<Fn extends (...args: never[]) => unknown>(fn: Fn, options: WrapOptions = {}): Fn {
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    const host = activeHost;
    if (host !== undefined && anyTraced(args) && (globallyWrapped.has(wrapper) || host.wrapsFunction(wrapper))) {
      return host.recordFunctionCall(fn, args);
    }
    return (fn as unknown as (...a: unknown[]) => unknown).apply(this, args);
  };
  Object.defineProperty(wrapper, 'name', { value: fn.name });
  originals.set(wrapper, fn);
  if (options.global !== false) globallyWrapped.add(wrapper);
  return wrapper as unknown as Fn;
}

/** The function a wrapper calls, or `fn` itself when it is not a wrapper. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any user function
export function unwrapFunction(fn: Function): Function {
  return originals.get(fn) ?? fn;
}
