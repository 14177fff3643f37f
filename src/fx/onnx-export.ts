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
  checkPositiveInteger,
  describeValue,
} from './check-options.js';
import type { Graph } from './graph.js';
import { GraphModule, resolvePath } from './graph-module.js';
import { Interpreter, InterpreterError } from './interpreter.js';
import { type Argument, Node, type Target, isPlainObject, mapArgument } from './node.js';
import { ShapeProp, inferOp } from './passes/shape-prop.js';
import { symbolicTrace } from './symbolic-trace.js';
import { Tracer } from './tracer.js';

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

/** Where a failure happened and why, naming the featurefx node and module. */
export class ExportError extends Error {
  override name = 'ExportError';
}

const BATCH = 'batch';

/** The shapes `inputShape` gives, checked: one array of positive integers, or an array of them. */
function checkedInputShapes(inputShape: unknown): number[][] {
  const example = 'for example { inputShape: [1, 3, 224, 224] }, or [[1, 3, 224, 224], [1, 10]] for two inputs';
  if (inputShape === undefined) {
    throw new TypeError(`exportOnnx: options.inputShape is required (the size of each input); ${example}`);
  }
  if (!Array.isArray(inputShape)) {
    throw new TypeError(
      `exportOnnx: inputShape must be an array of sizes, got ${describeValue(inputShape)}; ${example}`,
    );
  }
  const several = inputShape.length > 0 && inputShape.every((s) => Array.isArray(s));
  const shapes = (several ? inputShape : [inputShape]) as unknown[][];
  shapes.forEach((shape, i) =>
    shape.forEach((d, axis) => checkPositiveInteger(`exportOnnx: inputShape${several ? `[${i}]` : ''}[${axis}]`, d)),
  );
  return shapes.map((s) => [...(s as number[])]);
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

/**
 * How a module's result is rebuilt from the model's outputs, which come in this order: a tensor,
 * a list of tensors, or an object of tensors with its keys in their order. Recorded from what the
 * graph returns, so that a compiled module returns what the eager one does, whatever the keys are.
 * `sizes` holds the outputs that eager code gives as JS numbers (a traced `x.shape[0]`), which
 * ONNX returns as 0-D int64 tensors.
 */
export type OutputStructure = (
  { kind: 'tensor' } | { kind: 'list'; length: number } | { kind: 'dict'; keys: string[] }
) & { sizes: ReadonlySet<number> };

/** A graph lowered to ONNX, with how to rebuild the module's result from the model's outputs. */
export interface LoweredGraph {
  onnx: OnnxGraph;
  structure: OutputStructure;
}

/** Whether the graph computes `returned` as a size (a JS number in eager code, a traced `x.shape[0]`). */
function isSize(returned: Argument): boolean {
  return returned instanceof Node && typeof returned.meta.tensorMeta === 'number';
}

/**
 * The graph's result as named tensors (a list's are 'output_{i}', a tensor is 'output'), and its
 * structure. `returned` is the output node's argument: the nodes behind each of the result's
 * values. A size known when exporting becomes a constant, so that a size is always an output.
 */
function namedOutputs(
  result: unknown,
  returned: Argument,
  builder: GraphBuilder,
): { structure: OutputStructure; outputs: [string, Value][] } {
  const single = isValue(result) || isSize(returned);
  const entries: [string, unknown, Argument][] = single
    ? [['output', result, returned]]
    : Array.isArray(result)
      ? result.map((v, i) => [`output_${i}`, v, (returned as Argument[])[i]!])
      : isPlainObject(result)
        ? Object.entries(result).map(([key, v]) => [key, v, (returned as Record<string, Argument>)[key]!])
        : [];
  if (entries.length === 0) {
    throw new ExportError(
      `the graph returns ${describeValue(result)}, which holds no tensor; ONNX outputs are tensors, ` +
        'so return a tensor, a list of tensors or an object of tensors',
    );
  }
  const outputs = entries.map(([key, v, node]): [string, Value] => {
    if (typeof v === 'number' && isSize(node)) {
      return [key, { kind: 'value', name: builder.constant(v, 'int64'), dtype: 'int64', shape: [] }];
    }
    if (!isValue(v)) {
      throw new ExportError(
        `the graph's output '${key}' is ${describeValue(v)}, not a tensor; ONNX outputs are tensors, ` +
          'so return a tensor, a list of tensors or an object of tensors (not nested)',
      );
    }
    return [key, v];
  });
  const sizes = new Set(entries.flatMap(([, , node], i) => (isSize(node) ? [i] : [])));
  const structure: OutputStructure = single
    ? { kind: 'tensor', sizes }
    : Array.isArray(result)
      ? { kind: 'list', length: entries.length, sizes }
      : { kind: 'dict', keys: entries.map(([key]) => key), sizes };
  return { structure, outputs };
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

/** Builds the ONNX graph of `graph` (a graph of `module`) for the given input shapes. */
export function lowerGraph(
  module: Module,
  graph: Graph,
  shapes: readonly (readonly number[])[],
  dynamicBatch = true,
): LoweredGraph {
  const builder = new GraphBuilder();
  const ctx: ExportContext = {
    builder,
    initializers: new Map(),
    batch: dynamicBatch ? shapes[0]?.[0] : undefined,
    subgraphs: new Map(),
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
  const { structure, outputs } = namedOutputs(
    new OnnxLowering(module, graph, ctx, '').run(...inputs),
    returned,
    builder,
  );
  const inputNames = new Set(placeholders.map((p) => p.name));
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
