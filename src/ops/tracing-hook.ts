/**
 * The seam between ops and tracing. The fx layer installs a hook while it traces; ops ask it
 * whether an argument is a traced value and, if so, let it record a graph node instead of
 * computing. Outside tracing the hook is absent and ops pay one null check.
 */
import type { AnyOp } from './op.js';

/** Marks traced values; the fx layer sets it on its traced stand-ins for tensors and sizes. */
export const TRACED: unique symbol = Symbol.for('featurefx.traced');

export interface TracingHook {
  /** Records `op` applied to `args` (a method call when `asMethod`) and returns its traced result. */
  record(op: AnyOp, args: readonly unknown[], asMethod: boolean): unknown;
}

let activeHook: TracingHook | undefined;

export function getTracingHook(): TracingHook | undefined {
  return activeHook;
}

/** Installs `hook` while `body` runs; hooks nest (tracing inside a leaf module's own trace). */
export function withTracingHook<T>(hook: TracingHook, body: () => T): T {
  const previous = activeHook;
  activeHook = hook;
  try {
    return body();
  } finally {
    activeHook = previous;
  }
}

export function isTraced(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { [TRACED]?: boolean })[TRACED] === true;
}

/** Whether any argument, or any element of an array or plain-object argument, is traced. */
export function anyTraced(args: readonly unknown[]): boolean {
  for (const a of args) {
    if (isTraced(a)) return true;
    if (Array.isArray(a)) {
      if (a.some(isTraced)) return true;
    } else if (typeof a === 'object' && a !== null && Object.getPrototypeOf(a) === Object.prototype) {
      if (Object.values(a).some(isTraced)) return true;
    }
  }
  return false;
}
