/**
 * ONNX export: a graph module as one ONNX model. Shape propagation runs first, then an
 * `Interpreter` subclass walks the graph and maps every node to ONNX values through the ops' own
 * `lower` (the same lowering the eager kernels run). Leaf modules are inlined by tracing their
 * forward. Parameters become initializers named by their paths, only those a node reads; ONNX
 * nodes are named after the featurefx node (`layer3/Conv`); outputs after the user's keys.
 */
import { writeFileSync } from 'node:fs';
import { Module } from '../nn/module.js';
import type { AnyOp } from '../ops/op.js';
import { GraphBuilder, type Value, isValue } from '../ops/lowering.js';
import { getOp } from '../ops/registry.js';
import { type OnnxGraph, encodeModel } from '../runtime/onnx-model.js';
import { Tensor, type TensorMeta } from '../tensor/tensor.js';
import {
  MODES,
  checkBoolean,
  checkOneOf,
  checkOptionsObject,
  checkedInputShapes,
  describeValue,
} from './check-options.js';
import type { TapeEntry } from './autodiff.js';
import { ExportError } from './export-error.js';
import type { Graph } from './graph.js';
import { GraphModule, resolvePath } from './graph-module.js';
import { Interpreter, InterpreterError } from './interpreter.js';
import { type Argument, type Node, type Target, mapArgument } from './node.js';
import { type OutputStructure, namedOutputs } from './output-structure.js';
import { ShapeProp, inferOp } from './passes/shape-prop.js';
import { symbolicTrace } from './symbolic-trace.js';
import { Tracer } from './tracer.js';

export { ExportError };

export interface ExportOptions {
  /**
   * Shape of each input, NCHW for images: one array for a single input (`[1, 3, 224, 224]`), an
   * array of arrays for several. Required: ONNX needs the sizes the graph is computed for.
   */
  inputShape: readonly number[] | readonly (readonly number[])[];
  /** Make dimension 0 of the inputs, and of everything computed from it, dynamic (default true). */
  dynamicBatch?: boolean;
  /** Write the model here as well as returning its bytes. */
  path?: string;
  /** Which graph to export (a dual train/eval extractor's) and how leaf modules run (default 'eval'). */
  mode?: 'train' | 'eval';
}

const EXPORT_OPTION_KEYS = ['inputShape', 'dynamicBatch', 'path', 'mode'];
const EXPORT_EXAMPLE = "exportOnnx(module, { inputShape: [1, 3, 224, 224], path: 'model.onnx' })";

const BATCH = 'batch';

/** Shared state of one export: the builder, initializers by tensor, the batch size to make symbolic. */
interface ExportContext {
  builder: GraphBuilder;
  initializers: Map<Tensor, Value>;
  batch: number | undefined;
  subgraphs: Map<Module, Graph>;
  /** When gradients are wanted: every op lowered, in order, for `differentiate`. */
  tape: TapeEntry[] | undefined;
  /** When parameters and buffers are inputs: the path each one is fed from. */
  tensorPaths: Map<Tensor, string> | undefined;
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

  /**
   * A value for a tensor the graph reads, shared when the same tensor is used twice: an
   * initializer, or a graph input named by its path when the values change between runs.
   */
  private initializer(t: Tensor, path: string): Value {
    let v = this.ctx.initializers.get(t);
    if (v === undefined) {
      if (this.ctx.tensorPaths !== undefined) {
        v = this.ctx.builder.addInput(path, t.dtype, [...t.shape]);
        this.ctx.tensorPaths.set(t, path);
      } else {
        const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
        const name = this.ctx.builder.addInitializer(path, t.dtype, t.shape, raw);
        v = { kind: 'value', name, dtype: t.dtype, shape: [...t.shape] };
      }
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
    this.ctx.tape?.push({ op, args, outputs: values, listOutput: Array.isArray(out) });
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

/** A graph lowered to ONNX, with how to rebuild the module's result from the model's outputs. */
export interface LoweredGraph {
  onnx: OnnxGraph;
  structure: OutputStructure;
}

/**
 * The graph without the initializers no node reads. Reading an attribute is not using it: a
 * train-mode BatchNorm reads its running statistics and normalises with the batch's, and ONNX
 * Runtime would log "Removing initializer ... It is not used" for each one left in.
 */
function withUsedInitializers(graph: OnnxGraph): OnnxGraph {
  const read = new Set(graph.nodes.flatMap((n) => n.inputs));
  return { ...graph, initializers: graph.initializers.filter((i) => read.has(i.name)) };
}

/** A graph's nodes lowered into a builder that can take more nodes before it is finished. */
export interface OpenLowering {
  builder: GraphBuilder;
  /** The graph's result, as ONNX values in the structure `forward` returns. */
  result: unknown;
  /** The value of each parameter and buffer the graph reads. */
  initializers: ReadonlyMap<Tensor, Value>;
  /** Every op lowered, in order, when `withTape` (for `differentiate`). */
  tape: readonly TapeEntry[];
  /** With `tensorsAsInputs`: the module path of each parameter and buffer input, by tensor. */
  tensorPaths: ReadonlyMap<Tensor, string>;
  /** The graph's `output` argument (its nodes), for naming outputs. */
  returned: Argument;
}

/** Lowers `graph` (a graph of `module`) for the given input shapes, leaving the builder open. */
export function lowerOpen(
  module: Module,
  graph: Graph,
  shapes: readonly (readonly number[])[],
  options: { dynamicBatch?: boolean; withTape?: boolean; tensorsAsInputs?: boolean } = {},
): OpenLowering {
  const dynamicBatch = options.dynamicBatch ?? true;
  const builder = new GraphBuilder();
  const ctx: ExportContext = {
    builder,
    initializers: new Map(),
    batch: dynamicBatch ? shapes[0]?.[0] : undefined,
    subgraphs: new Map(),
    tape: options.withTape === true ? [] : undefined,
    tensorPaths: options.tensorsAsInputs === true ? new Map() : undefined,
  };
  const placeholders = [...graph.nodes()].filter((n) => n.op === 'placeholder');
  if (placeholders.length !== shapes.length) {
    throw new ExportError(`the graph takes ${placeholders.length} input(s) but inputShape gives ${shapes.length}`);
  }
  new ShapeProp(module, graph).propagate(...shapes.map((shape) => ({ dtype: 'float32' as const, shape: [...shape] })));
  const inputs = placeholders.map((p, i) =>
    builder.addInput(
      p.name,
      'float32',
      shapes[i]!.map((d, axis) => (dynamicBatch && axis === 0 ? BATCH : d)),
    ),
  );
  const returned = [...graph.nodes()].find((n) => n.op === 'output')?.args[0] ?? null;
  const result = new OnnxLowering(module, graph, ctx, '').run(...inputs);
  return {
    builder,
    result,
    initializers: ctx.initializers,
    tape: ctx.tape ?? [],
    tensorPaths: ctx.tensorPaths ?? new Map(),
    returned,
  };
}

/** Builds the ONNX graph of `graph` (a graph of `module`) for the given input shapes. */
export function lowerGraph(
  module: Module,
  graph: Graph,
  shapes: readonly (readonly number[])[],
  dynamicBatch = true,
): LoweredGraph {
  const { builder, result, returned } = lowerOpen(module, graph, shapes, { dynamicBatch });
  const { structure, outputs } = namedOutputs(result, returned, builder);
  const inputNames = new Set(builder.inputs.map((p) => p.name));
  const initializerNames = new Set(builder.initializers.map((i) => i.name));
  const outputInfos = outputs.map(([key, v]) => {
    if (inputNames.has(key) || initializerNames.has(key)) {
      throw new ExportError(
        `the output key '${key}' is also the name of ${inputNames.has(key) ? 'an input' : 'a parameter'}; ` +
          'ONNX needs distinct names, so choose another key',
      );
    }
    return { name: builder.rename(v.name, key), dtype: v.dtype, shape: v.shape };
  });
  return { onnx: withUsedInitializers(builder.finish(module.className, outputInfos)), structure };
}

/** `module` as a graph module: itself if it is one, else traced in `mode`. */
export function toGraphModule(module: Module, mode: 'train' | 'eval'): GraphModule {
  if (module instanceof GraphModule) return module;
  const wasTraining = module.training;
  module.train(mode === 'train');
  try {
    return symbolicTrace(module);
  } finally {
    module.train(wasTraining);
  }
}

/**
 * Lowers a graph module in `mode`, which selects a dual train/eval module's graph and how its leaf
 * modules (BatchNorm, Dropout) run; the module's own mode is left as it was.
 */
export function lowerInMode(
  module: GraphModule,
  mode: 'train' | 'eval',
  shapes: readonly (readonly number[])[],
  dynamicBatch = true,
): LoweredGraph {
  const wasTraining = module.training;
  module.train(mode === 'train');
  try {
    return lowerGraph(module, module.graph, shapes, dynamicBatch);
  } finally {
    module.train(wasTraining);
  }
}

/**
 * Exports a module as ONNX bytes, as `torch.onnx.export` does: a graph module (a feature
 * extractor, a `symbolicTrace` result) as it is, any other module traced first. Eval mode unless
 * `mode: 'train'`; writes the bytes to `options.path` too when given. The batch dimension is
 * dynamic unless `dynamicBatch: false`.
 * @example
 * const extractor = createFeatureExtractor(resnet18(), { returnNodes: ['layer2'] });
 * const bytes = exportOnnx(extractor, { inputShape: [1, 3, 224, 224] });
 */
export function exportOnnx(module: Module, options: ExportOptions): Uint8Array {
  if (!(module instanceof Module)) {
    throw new TypeError(
      `exportOnnx: module must be a featurefx Module (a feature extractor or any model), got ${describeValue(module)}`,
    );
  }
  if (typeof options === 'string') {
    throw new TypeError(
      `exportOnnx(module, path) is not the signature; pass { inputShape: [1, 3, 224, 224], path: ${JSON.stringify(options)} }`,
    );
  }
  checkOptionsObject('exportOnnx(module, options)', options, EXPORT_OPTION_KEYS, EXPORT_EXAMPLE);
  const shapes = checkedInputShapes(options.inputShape);
  if (options.dynamicBatch !== undefined) checkBoolean('exportOnnx: dynamicBatch', options.dynamicBatch);
  if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
    throw new TypeError(
      `exportOnnx: path must be a file name such as 'model.onnx', got ${describeValue(options.path)}`,
    );
  }
  const mode = options.mode ?? 'eval';
  checkOneOf('exportOnnx: mode', mode, MODES);
  const { onnx } = lowerInMode(toGraphModule(module, mode), mode, shapes, options.dynamicBatch ?? true);
  const bytes = encodeModel(onnx);
  if (options.path !== undefined) writeFileSync(options.path, bytes);
  return bytes;
}
