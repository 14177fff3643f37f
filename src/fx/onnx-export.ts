/**
 * ONNX export: a graph module as one ONNX model. Shape propagation runs first, then an
 * `Interpreter` subclass walks the graph and maps every node to ONNX values through the ops' own
 * `lower` (the same lowering the eager kernels run). Leaf modules are inlined by tracing their
 * forward. Parameters become initializers named by their paths, only those a node reads; ONNX
 * nodes are named after the featurefx node in torch.onnx's scoped form (`/layer3/layer3.1/conv2/Conv`),
 * the value a featurefx node computes by the node (`layer3.1.conv2`), so that src/onnx/node-names.ts
 * reads featurefx's names back (a plain module is traced with those names too, `toGraphModule`);
 * outputs are named after the user's keys.
 */
import { writeFileSync } from 'node:fs';
import { isBuiltinLayer } from '../nn/leaf.js';
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
import { type Argument, type Node, type Target } from './node.js';
import { type SizedGraph, declareSizes, firstDifference, graphKey, valueSizes } from './dynamic-sizes.js';
import { LoweringHook, mapValues } from './stand-ins.js';
import { NodePathTracer } from './node-path-tracer.js';
import { namedOutputs } from './output-names.js';
import { traceWith } from './symbolic-trace.js';
import { ShapeProp, inferOp } from './passes/shape-prop.js';

export { ExportError };

export interface ExportOptions {
  /**
   * Shape of each input, NCHW for images: one array for a single input (`[1, 3, 224, 224]`), an
   * array of arrays for several. Required: ONNX needs the sizes the graph is computed for.
   */
  inputShape: readonly number[] | readonly (readonly number[])[];
  /** Make dimension 0 of the inputs, and of everything computed from it, dynamic (default true). */
  dynamicBatch?: boolean;
  /** Make the spatial sizes (dimensions 2 and on) dynamic too (default false). */
  dynamicSize?: boolean;
  /** Write the model here as well as returning its bytes. */
  path?: string;
  /** Which graph to export (a dual train/eval extractor's) and how leaf modules run (default 'eval'). */
  mode?: 'train' | 'eval';
}

const EXPORT_OPTION_KEYS = ['inputShape', 'dynamicBatch', 'dynamicSize', 'path', 'mode'];
const EXPORT_EXAMPLE = "exportOnnx(module, { inputShape: [1, 3, 224, 224], path: 'model.onnx' })";

/** Shared state of one export: the builder and the values of the tensors the graph reads. */
interface ExportContext {
  builder: GraphBuilder;
  initializers: Map<Tensor, Value>;
  /** When gradients are wanted: every op lowered, in order, for `differentiate`. */
  tape: TapeEntry[] | undefined;
  /** When parameters and buffers are inputs: the path each one is fed from. */
  tensorPaths: Map<Tensor, string> | undefined;
}

function isMetaLike(x: unknown): x is TensorMeta {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dtype' in x;
}

/**
 * Runs the graph's nodes into the builder. Values keep the sizes of the shapes lowered for: where
 * the model reads a size (`x.shape[0]`) the graph computes it (Shape, Gather), and where an op's
 * lowering needs a size it is written as a constant, so the graph written differs between input
 * shapes exactly where the computation does.
 */
class OnnxLowering extends Interpreter {
  private current: Node | undefined;

  constructor(
    module: Module,
    graph: Graph,
    private readonly ctx: ExportContext,
  ) {
    super(module, graph);
  }

  override runNode(node: Node): unknown {
    this.current = node;
    const name = (node.meta.qualname as string | undefined) ?? node.name;
    const builder = this.ctx.builder;
    builder.scope = name;
    const since = builder.nodes.length;
    let result: unknown;
    try {
      result = super.runNode(node);
    } catch (e) {
      if (e instanceof ExportError && e.message.startsWith('cannot export')) throw e;
      throw new ExportError(
        `cannot export node '${name}' (${node.format()}): ${e instanceof Error ? e.message : String(e)}`,
        { cause: e, node },
      );
    }
    // The values this node made carry its name ('layer1.0.conv1'; 'name:1'... after the first), so
    // that a file's values read as the model's nodes. Not with a tape, which holds them as made.
    if (this.ctx.tape !== undefined) return result;
    // Tensors are declared in value_info with the dtype and shape shape propagation gave them; a
    // size's value is typed by its op (a comparison of sizes makes a bool), not known here.
    const meta = node.meta.tensorMeta;
    const isTensors = isMetaLike(meta) || (Array.isArray(meta) && meta.every(isMetaLike));
    let index = 0;
    return mapValues(result, (v): Value => {
      const wanted = index === 0 ? name : `${name}:${index}`;
      index++;
      const named = builder.nameOutput(v, wanted, since);
      if (isTensors && named !== v) builder.declareValue(named);
      return named;
    });
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
  override runNodes(nodes: readonly Node[], known: ReadonlyMap<Node, unknown>): Map<Node, unknown> {
    try {
      return super.runNodes(nodes, known);
    } catch (e) {
      throw e instanceof InterpreterError && e.cause instanceof ExportError ? e.cause : e;
    }
  }

  override getAttr(path: string): unknown {
    const t = resolvePath(this.module, path);
    if (!(t instanceof Tensor)) throw new ExportError(`'${path}' is not a tensor`);
    return this.initializer(t, path);
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
      if (isMetaLike(m)) return { kind: 'value', name, dtype: m.dtype, shape: [...m.shape] };
      // A size or a list of sizes computed in the graph (int64, 0-D or 1-D).
      return { kind: 'value', name, dtype: 'int64', shape: Array.isArray(m) ? [m.length] : [] };
    });
    this.ctx.tape?.push({ op, args, outputs: values, listOutput: Array.isArray(out) });
    return Array.isArray(out) ? values : values[0];
  }

  /**
   * A hook that lowers code run on stand-ins: the tensors of `owner` it reads are the model's
   * parameters and buffers, named by their paths under `prefix`; other tensors become constants.
   */
  private hookFor(owner?: Module, prefix = ''): LoweringHook {
    const paths = new Map<Tensor, string>();
    if (owner !== undefined) {
      for (const [name, t] of [...owner.namedParameters(), ...owner.namedBuffers()]) {
        paths.set(t, prefix === '' ? name : `${prefix}.${name}`);
      }
    }
    return new LoweringHook(this.ctx.builder, {
      tape: this.ctx.tape,
      tensorValue: (t) => {
        const path = paths.get(t);
        return path === undefined ? undefined : this.initializer(t, path);
      },
    });
  }

  /**
   * Code recorded as one node (a wrapped function, a leaf module's forward) runs on stand-ins, its
   * ops lowered under the node's name. Unless gradients are wanted (the tape must see every op in
   * the main graph), it becomes a local function named by the node's path, so that the model
   * keeps the hierarchy: Netron shows `leaf_module` as one box.
   */
  private lowerCode(fn: (...args: never[]) => unknown, args: unknown[], hook: LoweringHook): unknown {
    if (this.ctx.tape !== undefined) return hook.run(fn, args);
    const builder = this.ctx.builder;
    builder.beginFunction();
    let result: unknown;
    try {
      result = hook.run(fn, args);
    } catch (e) {
      builder.abandonFunction();
      throw e;
    }
    const values: Value[] = [];
    mapValues(result, (v) => values.push(v));
    const called = builder.endFunction(
      builder.scope,
      values.map((v) => v.name),
    );
    return mapValues(result, (v): Value => ({
      kind: 'value',
      name: called.get(v.name)!,
      dtype: v.dtype,
      shape: v.shape,
    }));
  }

  override callFunction(target: Target, args: unknown[]): unknown {
    if (typeof target === 'function') return this.lowerCode(target as (...a: never[]) => unknown, args, this.hookFor());
    return this.callOp(getOp(target), args);
  }

  override callMethod(target: string, args: unknown[]): unknown {
    return this.callOp(getOp(target), args);
  }

  /**
   * A leaf module's forward is lowered where it is called, its nodes named by its path; a layer
   * of featurefx's own (one op, a convolution) is written inline, the others as local functions.
   */
  override callModule(path: string, args: unknown[]): unknown {
    const m = resolvePath(this.module, path) as Module;
    const forward = (...x: never[]): unknown => m.call(...(x as unknown[]));
    const hook = this.hookFor(m, path);
    return isBuiltinLayer(m) ? hook.run(forward, args) : this.lowerCode(forward, args, hook);
  }
}

/** A graph lowered to ONNX, its outputs named by the module's result's keys. */
export interface LoweredGraph {
  onnx: OnnxGraph;
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

/**
 * Runs shape propagation, its failures as ExportErrors naming the node: code that cannot run on
 * shapes alone (it reads data) cannot be lowered either.
 */
function propagateShapes<T>(body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (!(e instanceof InterpreterError)) throw e;
    const cause = e.cause instanceof Error ? e.cause : e;
    const reason = cause.message.replace(/^cannot infer the output shape of \w+ at '[^']*': /, '');
    throw new ExportError(`cannot export node '${e.node.name}' (${e.node.format()}): ${reason}`, {
      cause: cause,
      node: e.node,
    });
  }
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

/**
 * Lowers `graph` (a graph of `module`) for the given input shapes, leaving the builder open. The
 * inputs are declared with those shapes; `declareSizes` opens them up once the graph is finished.
 */
export function lowerOpen(
  module: Module,
  graph: Graph,
  shapes: readonly (readonly number[])[],
  options: { withTape?: boolean; tensorsAsInputs?: boolean } = {},
): OpenLowering {
  const builder = new GraphBuilder();
  const ctx: ExportContext = {
    builder,
    initializers: new Map(),
    tape: options.withTape === true ? [] : undefined,
    tensorPaths: options.tensorsAsInputs === true ? new Map() : undefined,
  };
  const placeholders = [...graph.nodes()].filter((n) => n.op === 'placeholder');
  if (placeholders.length !== shapes.length) {
    throw new ExportError(`the graph takes ${placeholders.length} input(s) but inputShape gives ${shapes.length}`);
  }
  propagateShapes(() =>
    new ShapeProp(module, graph).propagate(
      ...shapes.map((shape) => ({ dtype: 'float32' as const, shape: [...shape] })),
    ),
  );
  const inputs = placeholders.map((p, i) => builder.addInput(p.name, 'float32', shapes[i]!));
  const returned = [...graph.nodes()].find((n) => n.op === 'output')?.args[0] ?? null;
  const result = new OnnxLowering(module, graph, ctx).run(...inputs);
  return {
    builder,
    result,
    initializers: ctx.initializers,
    tape: ctx.tape ?? [],
    tensorPaths: ctx.tensorPaths ?? new Map(),
    returned,
  };
}

/** How a lowered part of a graph gives back the value of a node it computes. */
export type PartOutput =
  | { node: Node; form: 'tensor' | 'size' | 'sizes'; index: number }
  | { node: Node; form: 'tensors'; indices: number[] }
  | { node: Node; form: 'constant'; value: unknown };

/** A run of a graph's nodes lowered as a graph of its own. */
export interface LoweredPart {
  onnx: OnnxGraph;
  /** The nodes outside the run whose tensors are the ONNX inputs, in order. */
  inputs: Node[];
  outputs: PartOutput[];
}

/** What shape propagation takes for a real value: a tensor's metadata, other values as they are. */
function metaOf(value: unknown): unknown {
  if (value instanceof Tensor) return { dtype: value.dtype, shape: [...value.shape] };
  return Array.isArray(value) ? value.map(metaOf) : value;
}

/**
 * Lowers `nodes`, a run of `graph`'s nodes in order, as a graph of its own. The tensors they read
 * from nodes outside the run (`known`, real values) are its inputs, named after those nodes; other
 * values read from outside (sizes) are written in as constants. The values of `needed` are its
 * outputs: ONNX outputs, or constants when lowering computed them in JavaScript.
 */
export function lowerPart(
  module: Module,
  graph: Graph,
  nodes: readonly Node[],
  known: ReadonlyMap<Node, unknown>,
  needed: readonly Node[],
): LoweredPart {
  propagateShapes(() =>
    new ShapeProp(module, graph).runNodes(nodes, new Map([...known].map(([n, v]) => [n, metaOf(v)]))),
  );
  const builder = new GraphBuilder();
  const ctx: ExportContext = { builder, initializers: new Map(), tape: undefined, tensorPaths: undefined };
  const inputs: Node[] = [];
  const values = new Map<Node, unknown>();
  for (const [node, value] of known) {
    if (!(value instanceof Tensor)) {
      values.set(node, value);
      continue;
    }
    values.set(node, builder.addInput(node.name, value.dtype, [...value.shape]));
    inputs.push(node);
  }
  const lowered = new OnnxLowering(module, graph, ctx).runNodes(nodes, values);
  const onnxOutputs: { name: string; dtype: Value['dtype'] }[] = [];
  const indexOf = new Map<string, number>();
  const outputIndex = (v: Value): number => {
    let i = indexOf.get(v.name);
    if (i === undefined) {
      i = onnxOutputs.push({ name: v.name, dtype: v.dtype }) - 1;
      indexOf.set(v.name, i);
    }
    return i;
  };
  const outputs = needed.map((node): PartOutput => {
    const v = lowered.has(node) ? lowered.get(node) : values.get(node);
    const meta = node.meta.tensorMeta;
    if (isValue(v)) {
      const form = typeof meta === 'number' ? 'size' : Array.isArray(meta) ? 'sizes' : 'tensor';
      return { node, form, index: outputIndex(v) };
    }
    if (Array.isArray(v) && v.length > 0 && v.every(isValue))
      return { node, form: 'tensors', indices: v.map(outputIndex) };
    return { node, form: 'constant', value: v };
  });
  return { onnx: withUsedInitializers(builder.finish(module.className, onnxOutputs)), inputs, outputs };
}

/** Builds the ONNX graph of `graph` (a graph of `module`) for the given input shapes. */
export function lowerGraph(module: Module, graph: Graph, shapes: readonly (readonly number[])[]): LoweredGraph {
  const { builder, result, returned } = lowerOpen(module, graph, shapes);
  const outputs = namedOutputs(result, returned, builder);
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
  return { onnx: withUsedInitializers(builder.finish(module.className, outputInfos)) };
}

/** `module` as a graph module: itself if it is one, else traced in `mode`. */
export function toGraphModule(module: Module, mode: 'train' | 'eval'): GraphModule {
  if (module instanceof GraphModule) return module;
  const wasTraining = module.training;
  module.train(mode === 'train');
  try {
    // symbolicTrace's graph (same leaves, no hooks of inlined modules), but with featurefx's node
    // names, which the ONNX file's nodes and values are named by.
    const traced = traceWith(new NodePathTracer({ recordModuleCalls: false }), module);
    // A new module starts in train mode, and this one shares the model's leaves (BatchNorm): left
    // so, compile's return to "its own mode" after lowering would set the model's leaves training.
    return traced.train(wasTraining);
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
): LoweredGraph {
  const wasTraining = module.training;
  module.train(mode === 'train');
  try {
    return lowerGraph(module, module.graph, shapes);
  } finally {
    module.train(wasTraining);
  }
}

/** How much a probe grows spatial sizes: a multiple of every stride in the zoo. */
const SIZE_STEP = 32;

/** The input sizes an export declares: 'batch', 'height' and 'width' where they are dynamic. */
function inputDimName(index: number, axis: number, rank: number): string {
  if (axis === 0) return 'batch';
  const name = rank === 4 && axis === 2 ? 'height' : rank === 4 && axis === 3 ? 'width' : `d${axis}`;
  return index === 0 ? name : `input${index}_${name}`;
}

/**
 * `shapes` with the dynamic sizes that `grows` picks (by input, axis and declared name) grown by a
 * probe's step: the batch by one, spatial sizes by SIZE_STEP.
 */
function grownShapes(
  shapes: readonly (readonly number[])[],
  grows: (index: number, axis: number, name: string) => boolean,
): number[][] {
  return shapes.map((shape, i) =>
    shape.map((d, axis) =>
      !grows(i, axis, inputDimName(i, axis, shape.length)) ? d : axis === 0 ? d + 1 : d + SIZE_STEP,
    ),
  );
}

/**
 * The graph for `shapes` with the sizes asked for made dynamic, after checking that the graph does
 * not depend on them: the graph is lowered again for larger sizes and must come out the same (where
 * it does not, torch.onnx would write the first size's constants into a model that claims to take
 * any size). Output sizes that changed between the two become symbolic; the value_info's sizes
 * are declared by `valueSizes` from the lowerings.
 */
function withDynamicSizes(
  module: GraphModule,
  mode: 'train' | 'eval',
  shapes: readonly (readonly number[])[],
  dynamic: { batch: boolean; size: boolean },
): LoweredGraph {
  const lowered = lowerInMode(module, mode, shapes);
  const isDynamic = (axis: number): boolean => (axis === 0 ? dynamic.batch : axis >= 2 && dynamic.size);
  const what = [dynamic.batch ? 'the batch size' : '', dynamic.size ? 'the spatial size' : '']
    .filter((w) => w !== '')
    .join(' and ');
  if (what === '') return lowered;
  const probeShapes = grownShapes(shapes, (_i, axis) => isDynamic(axis));
  const fix = `export with ${dynamic.size ? 'dynamicSize: false' : 'dynamicBatch: false'} (one model per size)`;
  let probe: LoweredGraph;
  try {
    probe = lowerInMode(module, mode, probeShapes);
  } catch (e) {
    throw new ExportError(
      `cannot make ${what} dynamic: the model does not run for input shape ${JSON.stringify(probeShapes)} ` +
        `(${e instanceof Error ? e.message : String(e)}); ${fix}`,
      { cause: e },
    );
  }
  if (graphKey(probe.onnx) !== graphKey(lowered.onnx)) {
    const node = firstDifference(lowered.onnx, probe.onnx);
    throw new ExportError(
      `cannot make ${what} dynamic: the graph for input shape ${JSON.stringify(probeShapes)} differs from the one ` +
        `for ${JSON.stringify(shapes)} at ONNX node '${node?.name ?? '?'}' (${node?.opType ?? '?'}), so the model ` +
        `computes with a size there as a constant; ${fix}`,
    );
  }
  const probeOutputs = probe.onnx.outputs;
  const onnx = declareSizes(lowered.onnx, shapes.length, {
    input: (i, axis, d) => (isDynamic(axis) ? inputDimName(i, axis, shapes[i]!.length) : d),
    output: (i, axis, d) => {
      if (probeOutputs[i]?.shape?.[axis] === d) return d;
      return axis === 0 && dynamic.batch ? 'batch' : `${lowered.onnx.outputs[i]!.name}_d${axis}`;
    },
    value: valueSizes(sized(lowered, shapes, isDynamic), [
      sized(probe, probeShapes, isDynamic),
      ...probesByName(module, mode, shapes, isDynamic, graphKey(lowered.onnx)),
    ]),
  });
  return { onnx };
}

/** `lowered` with the size each dynamic dimension name has in `shapes` (the first input's for 'batch'). */
function sized(
  lowered: LoweredGraph,
  shapes: readonly (readonly number[])[],
  isDynamic: (axis: number) => boolean,
): SizedGraph {
  const sizes = new Map<string, number>();
  shapes.forEach((shape, i) =>
    shape.forEach((d, axis) => {
      const name = inputDimName(i, axis, shape.length);
      if (isDynamic(axis) && !sizes.has(name)) sizes.set(name, d);
    }),
  );
  return { graph: lowered.onnx, sizes };
}

/**
 * Where several sizes are dynamic, the graph lowered again with each name's sizes grown on its
 * own ('height' alone), so that value_info names a size only by the input size it follows; the
 * one probe is enough for one name. `undefined` for a name whose sizes the graph does not take
 * alone (a model wanting a square input).
 */
function probesByName(
  module: GraphModule,
  mode: 'train' | 'eval',
  shapes: readonly (readonly number[])[],
  isDynamic: (axis: number) => boolean,
  key: string,
): (SizedGraph | undefined)[] {
  const names = new Set(
    shapes.flatMap((shape, i) => shape.map((_d, axis) => (isDynamic(axis) ? inputDimName(i, axis, shape.length) : ''))),
  );
  names.delete('');
  if (names.size < 2) return [];
  return [...names].map((name) => {
    const grown = grownShapes(shapes, (_i, axis, n) => isDynamic(axis) && n === name);
    try {
      const probe = lowerInMode(module, mode, grown);
      return graphKey(probe.onnx) === key ? sized(probe, grown, isDynamic) : undefined;
    } catch {
      return undefined;
    }
  });
}

/**
 * Exports a module as ONNX bytes, as `torch.onnx.export` does: a graph module (a feature
 * extractor, a `symbolicTrace` result) as it is, any other module traced first (its nodes named
 * as featurefx names them: `layer1.0.add`). Eval mode unless
 * `mode: 'train'`; writes the bytes to `options.path` too when given. The batch size is dynamic
 * unless `dynamicBatch: false`; height and width too with `dynamicSize: true`. Either is checked:
 * a model whose graph depends on the size raises an `ExportError` naming the node.
 * @example
 * const extractor = createFeatureExtractor(resnet18(), { returnNodes: ['layer2'] });
 * const bytes = exportOnnx(extractor, { inputShape: [1, 3, 224, 224], dynamicSize: true });
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
  if (options.dynamicSize !== undefined) checkBoolean('exportOnnx: dynamicSize', options.dynamicSize);
  if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
    throw new TypeError(
      `exportOnnx: path must be a file name such as 'model.onnx', got ${describeValue(options.path)}`,
    );
  }
  const mode = options.mode ?? 'eval';
  checkOneOf('exportOnnx: mode', mode, MODES);
  const { onnx } = withDynamicSizes(toGraphModule(module, mode), mode, shapes, {
    batch: options.dynamicBatch ?? true,
    size: options.dynamicSize ?? false,
  });
  const bytes = encodeModel(onnx);
  if (options.path !== undefined) writeFileSync(options.path, bytes);
  return bytes;
}
