/**
 * ONNX export: a graph module as one ONNX model. Shape propagation runs first, then an
 * `Interpreter` subclass walks the graph and maps every node to ONNX values through the ops' own
 * `lower` (the same lowering the eager kernels run). Leaf modules are inlined by tracing their
 * forward. Parameters become initializers named by their paths, only those the graph uses; ONNX
 * nodes are named after the featurefx node (`layer3/Conv`); outputs after the user's keys.
 */
import { writeFileSync } from 'node:fs';
import type { Module } from '../nn/module.js';
import type { AnyOp } from '../ops/op.js';
import { GraphBuilder, type Value, isValue } from '../ops/lowering.js';
import { getOp } from '../ops/registry.js';
import { type OnnxGraph, encodeModel } from '../runtime/onnx-model.js';
import { Tensor, type TensorMeta } from '../tensor/tensor.js';
import type { Graph } from './graph.js';
import { type GraphModule, resolvePath } from './graph-module.js';
import { Interpreter, InterpreterError } from './interpreter.js';
import { type Argument, type Node, type Target, isPlainObject, mapArgument } from './node.js';
import { ShapeProp, inferOp } from './passes/shape-prop.js';
import { Tracer } from './tracer.js';

export interface ExportOptions {
  /** Shape of each input (one array for a single input), NCHW for images. */
  inputShape: readonly number[] | readonly (readonly number[])[];
  /** Make dimension 0 of the inputs, and of everything computed from it, dynamic (default true). */
  dynamicBatch?: boolean;
  /** Write the model here as well as returning its bytes. */
  path?: string;
}

/** Where a failure happened and why, naming the featurefx node and module. */
export class ExportError extends Error {
  override name = 'ExportError';
}

const BATCH = 'batch';

function inputShapes(options: ExportOptions): number[][] {
  const shape = options.inputShape;
  return (Array.isArray(shape[0]) ? shape : [shape]).map((s) => [...(s as readonly number[])]);
}

/** Shared state of one export: the builder, initializers by tensor, the batch size to make symbolic. */
interface ExportContext {
  builder: GraphBuilder;
  initializers: Map<Tensor, Value>;
  batch: number | undefined;
  subgraphs: Map<Module, Graph>;
}

function isMetaLike(x: unknown): x is TensorMeta {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x;
}

/** Runs one graph's nodes into the builder. Used for the root graph and, recursively, leaf modules. */
class OnnxLowering extends Interpreter {
  private current: Node | undefined;

  constructor(
    module: Module,
    graph: Graph,
    private readonly ctx: ExportContext,
    private readonly prefix: string,
  ) {
    super(module, graph);
  }

  override runNode(node: Node): unknown {
    this.current = node;
    // Inside an inlined leaf module every node takes the module's path, so that `layer3.1.conv2`
    // is the name of its Conv node, as the featurefx node is named.
    this.ctx.builder.scope =
      this.prefix === '' ? ((node.meta.qualname as string | undefined) ?? node.name) : this.prefix;
    try {
      return super.runNode(node);
    } catch (e) {
      if (e instanceof ExportError && e.message.startsWith('cannot export')) throw e;
      throw new ExportError(
        `cannot export node '${this.ctx.builder.scope}' (${node.format()}): ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
  }

  /** A value for a tensor the graph reads: an initializer, shared when the same tensor is used twice. */
  private initializer(t: Tensor, path: string): Value {
    let v = this.ctx.initializers.get(t);
    if (v === undefined) {
      const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      const name = this.ctx.builder.addInitializer(path, t.dtype, t.shape, raw);
      v = { kind: 'value', name, dtype: t.dtype, shape: [...t.shape] };
      this.ctx.initializers.set(t, v);
    }
    return v;
  }

  /** Errors come out as ExportErrors naming the node, not wrapped again by the interpreter. */
  override run(...args: unknown[]): unknown {
    try {
      return super.run(...args);
    } catch (e) {
      throw e instanceof InterpreterError && e.cause instanceof ExportError ? e.cause : e;
    }
  }

  override getAttr(path: string): unknown {
    const t = resolvePath(this.module, path);
    if (!(t instanceof Tensor)) throw new ExportError(`'${path}' is not a tensor`);
    return this.initializer(t, this.prefix === '' ? path : `${this.prefix}.${path}`);
  }

  /** The ONNX-side description of a node's result, with the batch dimension made symbolic. */
  private valueShape(meta: unknown): (number | string)[] {
    if (typeof meta === 'number') return [];
    if (Array.isArray(meta)) return [meta.length];
    const shape = [...(meta as TensorMeta).shape] as (number | string)[];
    if (this.ctx.batch !== undefined && shape.length > 0 && shape[0] === this.ctx.batch) shape[0] = BATCH;
    return shape;
  }

  private callOp(op: AnyOp, args: unknown[]): unknown {
    const meta = this.current!.meta.tensorMeta;
    const hasValue = args.some((a) => isValue(a) || (Array.isArray(a) && a.some(isValue)));
    // Arguments that are all constants (sizes known when exporting, say) are computed here.
    if (!hasValue) return inferOp(op, args);
    // A JS list of graph values (the outputs of chunk or split) is indexed here, not in ONNX.
    if (Array.isArray(args[0]) && op.direct !== undefined) {
      const picked = op.direct(...args);
      if (picked !== undefined) return picked;
    }
    const out = op.lower(this.ctx.builder, ...args);
    const metas = Array.isArray(out) ? (meta as unknown[]) : [meta];
    const values = (Array.isArray(out) ? out : [out]).map((name, i): Value => {
      const m = metas[i];
      const dtype = isMetaLike(m) ? m.dtype : 'int64';
      return { kind: 'value', name, dtype, shape: this.valueShape(m) };
    });
    return Array.isArray(out) ? values : values[0];
  }

  override callFunction(target: Target, args: unknown[]): unknown {
    if (typeof target === 'function') {
      throw new ExportError(
        `the wrapped function '${target.name}' runs JavaScript, which ONNX cannot hold; make it an op or a leaf module`,
      );
    }
    return this.callOp(getOp(target), args);
  }

  override callMethod(target: string, args: unknown[]): unknown {
    return this.callOp(getOp(target), args);
  }

  /** Leaf modules are inlined: their forward is traced and lowered under their path. */
  override callModule(path: string, args: unknown[]): unknown {
    const m = resolvePath(this.module, path) as Module;
    let graph = this.ctx.subgraphs.get(m);
    if (graph === undefined) {
      graph = new Tracer().trace(m);
      this.ctx.subgraphs.set(m, graph);
    }
    const metas = this.current!.args.map((a) => mapArgument(a, (n) => n.meta.tensorMeta as Argument));
    new ShapeProp(m, graph).run(...metas);
    const fullPath = this.prefix === '' ? path : `${this.prefix}.${path}`;
    const result = new OnnxLowering(m, graph, this.ctx, fullPath).run(...args);
    this.ctx.builder.scope = fullPath;
    return result;
  }
}

/** Output names and values for the graph's result: a dict's keys, or 'output' / 'output_{i}'. */
function namedOutputs(result: unknown): [string, Value][] {
  if (isValue(result)) return [['output', result]];
  if (Array.isArray(result)) return result.map((v, i) => [`output_${i}`, v as Value]);
  if (isPlainObject(result)) return Object.entries(result) as [string, Value][];
  throw new ExportError('the graph returns no tensor');
}

/** Builds the ONNX graph of `graph` (a graph of `module`) for the given input shapes. */
export function lowerGraph(module: Module, graph: Graph, options: ExportOptions): OnnxGraph {
  const shapes = inputShapes(options);
  const dynamic = options.dynamicBatch ?? true;
  const builder = new GraphBuilder();
  const ctx: ExportContext = {
    builder,
    initializers: new Map(),
    batch: dynamic ? shapes[0]?.[0] : undefined,
    subgraphs: new Map(),
  };
  const placeholders = [...graph.nodes()].filter((n) => n.op === 'placeholder');
  if (placeholders.length !== shapes.length) {
    throw new ExportError(`the graph takes ${placeholders.length} input(s) but inputShape gives ${shapes.length}`);
  }
  new ShapeProp(module, graph).propagate(...shapes.map((shape) => ({ dtype: 'float32' as const, shape })));
  const inputs = placeholders.map((p, i) =>
    builder.addInput(
      p.name,
      'float32',
      shapes[i]!.map((d, axis) => (dynamic && axis === 0 ? BATCH : d)),
    ),
  );
  const result = new OnnxLowering(module, graph, ctx, '').run(...inputs);
  const inputNames = new Set(placeholders.map((p) => p.name));
  const outputs = namedOutputs(result).map(([key, v]) => {
    if (inputNames.has(key)) {
      throw new ExportError(
        `the output key '${key}' is also the name of an input; ONNX needs distinct names, so choose another key`,
      );
    }
    return { name: builder.rename(v.name, key), dtype: v.dtype, shape: v.shape };
  });
  return builder.finish(module.className, outputs);
}

/**
 * Exports a graph module (a feature extractor, or any `symbolicTrace` result) as ONNX bytes, in
 * eval mode; writes them to `options.path` too when given.
 * @example
 * const extractor = createFeatureExtractor(resnet18(), { returnNodes: ['layer2'] });
 * exportOnnx(extractor, { inputShape: [1, 3, 224, 224], path: 'r18.onnx' });
 */
export function exportOnnx(module: GraphModule, options: ExportOptions): Uint8Array {
  const wasTraining = module.training;
  module.eval();
  try {
    const bytes = encodeModel(lowerGraph(module, module.graph, options));
    if (options.path !== undefined) writeFileSync(options.path, bytes);
    return bytes;
  } finally {
    module.train(wasTraining);
  }
}
