/**
 * `compile`: a module's graph as one ONNX Runtime session (graph optimisation 'all'), called
 * with the same inputs as the module and returning the same structure. On the first call with an
 * input shape the graph is lowered for it; shapes whose graphs come out the same share one session
 * with symbolic sizes (every batch size and every spatial size a CNN allows, typically), and the
 * sessions are kept in a small cache that drops the least recently used one.
 */
import { NativeSession, type RawTensor } from '../runtime/native-session.js';
import { encodeModel } from '../runtime/onnx-model.js';
import { SessionLru } from '../runtime/session-lru.js';
import { getNumThreads } from '../runtime/threads.js';
import { type DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import { MODES, checkOneOf, checkOptionsObject, checkPositiveInteger } from './check-options.js';
import { GraphModule } from './graph-module.js';
import { declareSizes, graphKey } from './dynamic-sizes.js';
import { type LoweredGraph, lowerInMode, toGraphModule } from './onnx-export.js';
import type { OutputStructure } from './output-structure.js';

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
}

const COMPILE_OPTION_KEYS = ['mode', 'numThreads', 'graphOptimizationLevel', 'maxSessions'];
const OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'];
const DEFAULT_MAX_SESSIONS = 8;
/** Input shapes whose graph is remembered; past this the memory is cleared (a cheap re-lowering). */
const MAX_REMEMBERED_SHAPES = 1024;

function checkCompileOptions(options: unknown): asserts options is CompileOptions {
  checkOptionsObject('compile(module, options)', options, COMPILE_OPTION_KEYS, "compile(module, { mode: 'eval' })");
  const { mode, numThreads, graphOptimizationLevel, maxSessions } = options as Record<string, unknown>;
  if (mode !== undefined) checkOneOf('compile: mode', mode, MODES);
  if (numThreads !== undefined) checkPositiveInteger('compile: numThreads', numThreads);
  if (graphOptimizationLevel !== undefined) {
    checkOneOf('compile: graphOptimizationLevel', graphOptimizationLevel, OPTIMIZATION_LEVELS);
  }
  if (maxSessions !== undefined) checkPositiveInteger('compile: maxSessions', maxSessions);
}

interface CompiledSession {
  session: NativeSession;
  /** How to rebuild the module's output from the session's outputs. */
  structure: OutputStructure;
  dispose(): void;
}

/** A module compiled to ONNX Runtime: `call` (synchronous) and `run` (a Promise) give what the module gives. */
export class CompiledModule {
  /** Sessions by graph (`graphKey`). */
  private readonly sessions: SessionLru<CompiledSession>;
  /** The graph key of each input signature (dtypes and shapes) seen. */
  private readonly graphKeys = new Map<string, string>();

  constructor(
    readonly module: GraphModule,
    readonly options: CompileOptions = {},
  ) {
    if (!(module instanceof GraphModule)) {
      throw new TypeError('CompiledModule takes a GraphModule; use compile(module) for any other module');
    }
    checkCompileOptions(options);
    this.sessions = new SessionLru(options.maxSessions ?? DEFAULT_MAX_SESSIONS);
  }

  /** How many sessions are alive (at most `maxSessions`). */
  get sessionCount(): number {
    return this.sessions.size;
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

  private sessionFor(inputs: readonly Tensor[]): CompiledSession {
    this.dropStaleSessions();
    const signature = inputs.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(';');
    const known = this.graphKeys.get(signature);
    const cached = known === undefined ? undefined : this.sessions.get(known);
    if (cached !== undefined) return cached;
    const lowered = lowerInMode(
      this.module,
      this.options.mode ?? 'eval',
      inputs.map((t) => t.shape),
    );
    const key = graphKey(lowered.onnx);
    if (this.graphKeys.size >= MAX_REMEMBERED_SHAPES) this.graphKeys.clear();
    this.graphKeys.set(signature, key);
    return this.sessions.get(key) ?? this.createSession(key, lowered);
  }

  /** A session for `lowered`, its inputs' sizes symbolic so that every shape with this graph can use it. */
  private createSession(key: string, lowered: LoweredGraph): CompiledSession {
    const { onnx, structure } = lowered;
    const inputCount = [...this.module.graph.nodes()].filter((n) => n.op === 'placeholder').length;
    const open = declareSizes(onnx, inputCount, {
      input: (i, axis) => `in${i}_d${axis}`,
      output: undefined,
    });
    const session = new NativeSession(encodeModel(open), {
      intraOpNumThreads: this.options.numThreads ?? getNumThreads(),
      graphOptimizationLevel: this.options.graphOptimizationLevel ?? 'all',
    });
    const compiled = { session, structure, dispose: () => session.dispose() };
    this.sessions.add(key, compiled);
    return compiled;
  }

  /** Runs synchronously on the calling thread, as eager modules do. */
  call(...inputs: Tensor[]): unknown {
    for (const [i, t] of inputs.entries()) {
      if (!(t instanceof Tensor)) throw new TypeError(`[compile] input ${i} must be a Tensor`);
    }
    const { session, structure } = this.sessionFor(inputs);
    const raw: RawTensor[] = inputs.map((t) => ({ type: t.dtype, dims: t.shape, data: t.data }));
    const outputs = session
      .run(raw)
      .map((r, i): Tensor | number =>
        structure.sizes.has(i) ? Number(r.data[0]) : new Tensor(r.type as DType, r.dims, r.data as Tensor['data']),
      );
    if (structure.kind === 'tensor') return outputs[0];
    if (structure.kind === 'list') return outputs;
    const dict: Record<string, Tensor | number> = {};
    // defineProperty, so that a key such as '__proto__' is a key like any other.
    structure.keys.forEach((key, i) =>
      Object.defineProperty(dict, key, { value: outputs[i], enumerable: true, writable: true, configurable: true }),
    );
    return dict;
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
