/**
 * The op registry: every op, by PyTorch's name. Tracing, the interpreter and export look ops up
 * here; `defineOp` is how an op file adds itself.
 */
import { callOp } from './dispatch.js';
import type { AnyOp, Op, OpSpec } from './op.js';

const registry = new Map<string, AnyOp>();

export function defineOp<A extends unknown[], R>(spec: OpSpec<A, R>): Op<A, R> {
  if (registry.has(spec.name)) throw new Error(`op '${spec.name}' is defined twice`);
  const op = ((...args: unknown[]) => callOp(op as unknown as AnyOp, args, false)) as unknown as Op<A, R>;
  for (const [key, value] of Object.entries(spec)) Object.defineProperty(op, key, { value, enumerable: true });
  registry.set(spec.name, op as unknown as AnyOp);
  return op;
}

export function getOp(name: string): AnyOp {
  const op = registry.get(name);
  if (op === undefined) throw new Error(`unknown op '${name}'`);
  return op;
}

export function hasOp(name: string): boolean {
  return registry.has(name);
}

export function listOps(): string[] {
  return [...registry.keys()];
}
