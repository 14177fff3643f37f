/**
 * Shape propagation: every node's output dtype and shape for given input shapes, computed from
 * the ops' shape rules alone. No kernel runs, so it costs microseconds per node whatever the
 * model's size. Results go to `node.meta.tensorMeta` (a `TensorMeta`, or a number / list of
 * sizes for size arithmetic) and the output is returned.
 *
 * Leaf modules and wrapped functions have no shape rule of their own: their JavaScript runs on
 * stand-ins that have shapes and no data (so it may branch on sizes), with ops computing shapes.
 */
import type { Module } from '../../nn/module.js';
import type { AnyOp } from '../../ops/op.js';
import { getOp } from '../../ops/registry.js';
import type { TensorMeta } from '../../tensor/tensor.js';
import { resolvePath } from '../graph-module.js';
import { Interpreter } from '../interpreter.js';
import type { Node, Target } from '../node.js';
import { MetaHook } from '../stand-ins.js';

/** The result of an op on metadata: its direct JS form, its scalar form, or its shape rule. */
export function inferOp(op: AnyOp, args: unknown[]): unknown {
  if (op.direct !== undefined) {
    const result = op.direct(...args);
    if (result !== undefined) return result;
  }
  if (op.scalar !== undefined && args.every((a) => typeof a === 'number')) return op.scalar(...(args as number[]));
  return op.infer(...args);
}

export class ShapeProp extends Interpreter {
  private current: Node | undefined;

  /** Propagates shapes for inputs given as metadata, e.g. `{ dtype: 'float32', shape: [1, 3, 224, 224] }`. */
  propagate(...inputs: TensorMeta[]): unknown {
    return this.run(...inputs);
  }

  override runNode(node: Node): unknown {
    this.current = node;
    const result = super.runNode(node);
    node.meta.tensorMeta = result;
    return result;
  }

  override callFunction(target: Target, args: unknown[]): unknown {
    if (typeof target === 'function') return new MetaHook().run(target as (...a: never[]) => unknown, args);
    return inferOp(getOp(target), args);
  }

  override callMethod(target: string, args: unknown[]): unknown {
    return inferOp(getOp(target), args);
  }

  override callModule(path: string, args: unknown[]): unknown {
    const m = resolvePath(this.module, path) as Module;
    try {
      return new MetaHook().run((...x: never[]) => m.call(...(x as unknown[])), args);
    } catch (e) {
      const node = this.current === undefined ? path : this.current.name;
      throw new Error(`cannot infer the output shape of ${m.className} at '${node}': ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
}
