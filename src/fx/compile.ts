/**
 * `compile`: a module's graph as one ONNX Runtime session (graph optimisation 'all'), called
 * with the same inputs as the module and returning the same structure. On the first call with an
 * input shape the graph is lowered for it; shapes whose graphs come out the same share one session
 * with symbolic sizes (every batch size and every spatial size a CNN allows, typically), and the
 * sessions are kept in a small cache that drops the least recently used one.
 */
import { cacheEntryOf, createCachedSession } from '../runtime/cached-session.js';
import { type ModelCacheOption, type Shortcut, resolveCacheDir } from '../runtime/model-cache.js';
import type { NativeSession, RawTensor } from '../runtime/native-session.js';
import { encodeModel } from '../runtime/onnx-model.js';
import { SessionLru } from '../runtime/session-lru.js';
import { getNumThreads } from '../runtime/threads.js';
import { type DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import { warn } from '../warnings.js';
import { MODES, checkOneOf, checkOptionsObject, checkPositiveInteger } from './check-options.js';
import { GraphModule } from './graph-module.js';
import { declareSizes, graphKey } from './dynamic-sizes.js';
import { ExportError } from './export-error.js';
import type { Graph } from './graph.js';
import { Interpreter } from './interpreter.js';
import { type Argument, type Node, mapArgument } from './node.js';
import { type LoweredPart, type PartOutput, lowerPart, toGraphModule } from './onnx-export.js';

export interface CompileOptions {
  /** Which graph to compile for a module with train and eval graphs (default 'eval'). */
  mode?: 'train' | 'eval';
  /** Threads inside each op (default: `getNumThreads()`). */
  numThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * How many sessions to keep (default 8): one serves every input shape the graph is the same for,
   * but a model that computes with sizes as constants (a pooling window derived from the input
   * size) needs one per shape. Each holds a copy of the weights and its own buffers, so a stream
   * of new sizes would otherwise grow memory without bound; the least recently used is disposed.
   */
  maxSessions?: number;
  /**
   * Keep ONNX Runtime's optimised models on disk so that a later process skips the optimisation
   * (default false): `true` uses the platform's cache folder (`FEATUREFX_CACHE_DIR` overrides it),
   * `{ dir }` a folder of yours; `FEATUREFX_NO_CACHE=1` turns it off. Entries are keyed by the
   * model's bytes (nodes and weights), the ONNX Runtime version and the optimisation level.
   */
  cache?: ModelCacheOption;
}

const COMPILE_OPTION_KEYS = ['mode', 'numThreads', 'graphOptimizationLevel', 'maxSessions', 'cache'];
const OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'];
const DEFAULT_MAX_SESSIONS = 8;
/** Input shapes whose graph is remembered; past this the memory is cleared (a cheap re-lowering). */
const MAX_REMEMBERED_SHAPES = 1024;

function checkCompileOptions(options: unknown): asserts options is CompileOptions {
  checkOptionsObject('compile(module, options)', options, COMPILE_OPTION_KEYS, "compile(module, { mode: 'eval' })");
  const { mode, numThreads, graphOptimizationLevel, maxSessions, cache } = options as Record<string, unknown>;
  if (mode !== undefined) checkOneOf('compile: mode', mode, MODES);
  if (numThreads !== undefined) checkPositiveInteger('compile: numThreads', numThreads);
  if (graphOptimizationLevel !== undefined) {
    checkOneOf('compile: graphOptimizationLevel', graphOptimizationLevel, OPTIMIZATION_LEVELS);
  }
  if (maxSessions !== undefined) checkPositiveInteger('compile: maxSessions', maxSessions);
  const cacheDir = (cache as { dir?: unknown } | null | undefined)?.dir;
  if (cache !== undefined && typeof cache !== 'boolean' && (typeof cacheDir !== 'string' || cacheDir === '')) {
    throw new TypeError(
      `compile: cache must be true, false or { dir: 'folder' }, got ${JSON.stringify(cache)}; e.g. compile(module, { cache: true })`,
    );
  }
}

/** A node that runs eagerly between compiled segments, and why. */
export interface GraphBreak {
  /** The node's name (as in `getGraphNodeNames`' lists for a feature extractor). */
  node: string;
  /** What could not be lowered to ONNX. */
  reason: string;
}

/** A run of nodes compiled for one input signature: its session and how to read its outputs. */
interface CompiledPart {
  session: NativeSession;
  inputs: Node[];
  outputs: PartOutput[];
}

/** A session's output as the value eager code gives: a tensor, or JS numbers for sizes. */
function outputValue(output: PartOutput, raw: readonly RawTensor[]): unknown {
  const tensor = (r: RawTensor): Tensor => new Tensor(r.type as DType, r.dims, r.data as Tensor['data']);
  switch (output.form) {
    case 'constant':
      return output.value;
    case 'tensors':
      return output.indices.map((i) => tensor(raw[i]!));
    case 'size':
      return Number(raw[output.index]!.data[0]);
    case 'sizes':
      return Array.from(raw[output.index]!.data as BigInt64Array, Number);
    case 'tensor':
      return tensor(raw[output.index]!);
  }
}

/** What a signature says of a value: a tensor's dtype and shape, other values as JSON. */
function signatureOf(value: unknown): string {
  return value instanceof Tensor ? `${value.dtype}[${value.shape.join(',')}]` : JSON.stringify(value);
}

/**
 * A module compiled to ONNX Runtime: `call` (synchronous) and `run` (a Promise) give what the
 * module gives. The graph runs as compiled segments; a node that cannot be lowered (JavaScript
 * that reads tensor data, say) runs eagerly between two of them, and is listed in `graphBreaks`.
 */
export class CompiledModule {
  /** Sessions by graph (`graphKey`). */
  private readonly sessions: SessionLru<NativeSession>;
  /** For each segment and input signature seen: its graph's key and how to read its outputs. */
  private readonly parts = new Map<string, { key: string; inputs: Node[]; outputs: PartOutput[] }>();
  /** The graph compiled: the module's graph in the compiled mode. */
  private readonly graph: Graph;
  private readonly placeholders: Node[];
  /** The nodes between the placeholders and the output, in order. */
  private readonly body: Node[];
  private readonly outputNode: Node;
  private readonly eager = new Map<Node, string>();

  constructor(
    readonly module: GraphModule,
    readonly options: CompileOptions = {},
  ) {
    if (!(module instanceof GraphModule)) {
      throw new TypeError('CompiledModule takes a GraphModule; use compile(module) for any other module');
    }
    checkCompileOptions(options);
    this.sessions = new SessionLru(options.maxSessions ?? DEFAULT_MAX_SESSIONS);
    // A feature extractor holds a graph per mode and switches on train(): take the compiled mode's.
    this.graph = this.inMode(() => module.graph);
    const nodes = [...this.graph.nodes()];
    this.placeholders = nodes.filter((n) => n.op === 'placeholder');
    this.body = nodes.filter((n) => n.op !== 'placeholder' && n.op !== 'output');
    this.outputNode = nodes.find((n) => n.op === 'output')!;
  }

  /** How many sessions are alive (at most `maxSessions`). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The nodes that run eagerly between compiled segments, found as inputs arrive. */
  get graphBreaks(): GraphBreak[] {
    return [...this.eager].map(([node, reason]) => ({ node: node.name, reason }));
  }

  /** The weights the sessions hold copies of, with their versions when copied. */
  private weights: { tensor: Tensor; version: number }[] = [];

  /**
   * Drops the sessions when a parameter or buffer changed since they were built (an optimizer
   * step writes in place, a training forward replaces BatchNorm's running statistics), so that
   * the compiled module computes what the module computes.
   */
  private dropStaleSessions(): void {
    const current = [...this.module.stateDict().values()];
    const same =
      current.length === this.weights.length &&
      current.every((t, i) => this.weights[i]!.tensor === t && this.weights[i]!.version === t.version);
    if (same) return;
    this.sessions.clear();
    this.weights = current.map((tensor) => ({ tensor, version: tensor.version }));
  }

  /** The inputs of each run of nodes seen, by its first node and length. */
  private readonly runInputs = new Map<string, Node[]>();

  /** The nodes outside `nodes` (a run of the body) whose values they read, in graph order. */
  private inputsOf(nodes: readonly Node[]): Node[] {
    const run = `${this.body.indexOf(nodes[0]!)}:${nodes.length}`;
    let found = this.runInputs.get(run);
    if (found === undefined) {
      const inside = new Set(nodes);
      const read = new Set(nodes.flatMap((n) => n.allInputNodes()).filter((n) => !inside.has(n)));
      found = [...this.placeholders, ...this.body].filter((n) => read.has(n));
      this.runInputs.set(run, found);
    }
    return found;
  }

  /** The nodes of `nodes` whose values are read after them (by later nodes or the output). */
  private neededAfter(nodes: readonly Node[]): Node[] {
    const inside = new Set(nodes);
    return nodes.filter((n) => [...n.users].some((u) => !inside.has(u)));
  }

  /**
   * The compiled form of `nodes` for the values in `env`, built on first use. Undefined when one
   * of them cannot be lowered: that node is then run eagerly from now on (a graph break).
   */
  private partFor(start: number, nodes: readonly Node[], env: ReadonlyMap<Node, unknown>): CompiledPart | undefined {
    const inputs = this.inputsOf(nodes);
    const signature = `${start}:${nodes.length}|${inputs.map((n) => signatureOf(env.get(n))).join(';')}`;
    const lower = (): LoweredPart =>
      this.inMode(() =>
        lowerPart(this.module, this.graph, nodes, new Map(inputs.map((n) => [n, env.get(n)])), this.neededAfter(nodes)),
      );
    let part = this.parts.get(signature);
    let lowered: LoweredPart | undefined;
    if (part === undefined) {
      try {
        lowered = lower();
      } catch (e) {
        const node = e instanceof ExportError ? e.node : undefined;
        if (node === undefined || !nodes.includes(node)) throw e;
        const reason = e instanceof Error && e.cause instanceof Error ? e.cause.message : String(e);
        this.eager.set(node, reason);
        warn('GraphBreakWarning', `[compile] node '${node.name}' runs eagerly between compiled segments: ${reason}`);
        return undefined;
      }
      if (this.parts.size >= MAX_REMEMBERED_SHAPES) this.parts.clear();
      part = { key: graphKey(lowered.onnx), inputs: lowered.inputs, outputs: lowered.outputs };
      this.parts.set(signature, part);
    }
    let session = this.sessions.get(part.key);
    if (session === undefined) {
      // Evicted, or dropped with changed weights: the signature's graph is lowered again.
      session = this.createSession(lowered ?? lower());
      this.sessions.add(part.key, session);
    }
    return { session, inputs: part.inputs, outputs: part.outputs };
  }

  /** A session for `lowered`, its inputs' sizes symbolic so that every shape with this graph can use it. */
  private createSession(lowered: LoweredPart): NativeSession {
    const open = declareSizes(lowered.onnx, lowered.inputs.length, {
      input: (i, axis) => `in${i}_d${axis}`,
      output: undefined,
    });
    return createCachedSession(
      encodeModel(open),
      {
        intraOpNumThreads: this.options.numThreads ?? getNumThreads(),
        graphOptimizationLevel: this.options.graphOptimizationLevel ?? 'all',
      },
      resolveCacheDir(this.options.cache),
    );
  }

  /** Runs synchronously on the calling thread, as eager modules do. */
  call(...inputs: Tensor[]): unknown {
    for (const [i, t] of inputs.entries()) {
      if (!(t instanceof Tensor)) throw new TypeError(`[compile] input ${i} must be a Tensor`);
    }
    if (inputs.length !== this.placeholders.length) {
      throw new RangeError(`[compile] the module takes ${this.placeholders.length} input(s), got ${inputs.length}`);
    }
    this.dropStaleSessions();
    const env = new Map<Node, unknown>(this.placeholders.map((p, i) => [p, inputs[i]]));
    let start = 0;
    while (start < this.body.length) {
      const first = this.body[start]!;
      if (this.eager.has(first)) {
        const known = new Map(this.inputsOf([first]).map((n) => [n, env.get(n)]));
        const value = this.inMode(() => new Interpreter(this.module, this.graph).runNodes([first], known).get(first));
        env.set(first, value);
        start++;
        continue;
      }
      let end = start;
      while (end < this.body.length && !this.eager.has(this.body[end]!)) end++;
      const part = this.partFor(start, this.body.slice(start, end), env);
      // A graph break was found in the run: plan again with that node eager.
      if (part === undefined) continue;
      const feeds = part.inputs.map((n): RawTensor => {
        const t = env.get(n) as Tensor;
        return { type: t.dtype, dims: t.shape, data: t.data };
      });
      const raw = part.session.run(feeds);
      for (const output of part.outputs) env.set(output.node, outputValue(output, raw));
      start = end;
    }
    return mapArgument(this.outputNode.args[0], (n) => env.get(n) as Argument);
  }

  /**
   * How one cached session alone computes what the last `call` with inputs like `inputs` returned:
   * when the whole graph compiled to one segment fed the inputs in order, whose session is a cache
   * entry, and the module returns a record of tensors that are session outputs, the entry's key
   * and the session output of each key. Undefined otherwise. The CLI records this so that a later
   * process runs the entry without building the model (src/cli/cached-extractor.ts).
   */
  sessionPlan(...inputs: Tensor[]): Shortcut | undefined {
    if (this.eager.size > 0 || this.body.length === 0) return undefined;
    const env = new Map<Node, unknown>(this.placeholders.map((p, i) => [p, inputs[i]]));
    const fed = this.inputsOf(this.body);
    if (fed.length !== this.placeholders.length || fed.some((n, i) => n !== this.placeholders[i])) return undefined;
    const part = this.parts.get(`0:${this.body.length}|${fed.map((n) => signatureOf(env.get(n))).join(';')}`);
    const session = part === undefined ? undefined : this.sessions.get(part.key);
    const entry = session === undefined ? undefined : cacheEntryOf(session);
    const returned = this.outputNode.args[0];
    if (entry === undefined || typeof returned !== 'object' || returned === null || Array.isArray(returned))
      return undefined;
    const outputs: [string, number][] = [];
    for (const [key, node] of Object.entries(returned as Record<string, unknown>)) {
      const output = part!.outputs.find((o) => o.node === node);
      if (output?.form !== 'tensor') return undefined;
      outputs.push([key, output.index]);
    }
    return { entry, outputs };
  }

  /**
   * Runs `body` with the module in the compiled mode (leaf modules such as BatchNorm lower and run
   * by it), then puts its mode back. Only lowering and eager nodes need it, not a compiled run.
   */
  private inMode<T>(body: () => T): T {
    const wasTraining = this.module.training;
    this.module.train((this.options.mode ?? 'eval') === 'train');
    try {
      return body();
    } finally {
      this.module.train(wasTraining);
    }
  }

  /** As `call`, resolved on a later tick, for code that expects ONNX Runtime's asynchronous API. */
  async run(...inputs: Tensor[]): Promise<unknown> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.call(...inputs);
  }

  dispose(): void {
    this.sessions.clear();
  }
}

/**
 * Compiles a module to ONNX Runtime sessions, one per distinct graph: input shapes for which the
 * graph comes out the same share a session (`sessionCount` tells), and the `maxSessions` most
 * recently used are kept. A graph module (a feature extractor, a `symbolicTrace`
 * result) is compiled as it is; any other module is traced first, in the mode to compile.
 * Beyond torchvision.
 * @example
 * const fast = compile(createFeatureExtractor(resnet18(), { returnNodes: ['layer2'] }));
 * const out = fast.call(rand([2, 3, 64, 64])) as Record<string, Tensor>;
 * fast.call(rand([1, 3, 96, 128])); // the same session: fast.sessionCount is 1
 * const logits = compile(resnet18().eval(), { maxSessions: 2 }).call(rand([1, 3, 64, 64])) as Tensor;
 */
export function compile(module: Module, options: CompileOptions = {}): CompiledModule {
  if (!(module instanceof Module)) {
    throw new TypeError('compile: module must be a featurefx Module (a feature extractor or any model)');
  }
  checkCompileOptions(options);
  return new CompiledModule(toGraphModule(module, options.mode ?? 'eval'), options);
}
