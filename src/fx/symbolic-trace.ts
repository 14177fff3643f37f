import type { Module } from '../nn/module.js';
import { GraphModule } from './graph-module.js';
import { type TraceOptions, Tracer, type TracerOptions } from './tracer.js';

/**
 * Traces `root` and returns a `GraphModule` computing the same thing, like `torch.fx.symbolic_trace`.
 * @example
 * const gm = symbolicTrace(resnet18());
 * console.log(gm.code);
 */
export function symbolicTrace(root: Module, options: TracerOptions & TraceOptions = {}): GraphModule {
  return traceWith(new Tracer(options), root, options);
}

/** Traces `root` with `tracer` (a subclass naming nodes its own way) into a `GraphModule`. */
export function traceWith(tracer: Tracer, root: Module, options: TraceOptions = {}): GraphModule {
  const graph = tracer.trace(root, options);
  return new GraphModule(root, graph, { className: root.className, constants: tracer.tensorConstants });
}
