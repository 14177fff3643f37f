/**
 * `compile`: a module's graph as one ONNX Runtime session (graph optimisation 'all'), called
 * with the same inputs as the module and returning the same structure. Sessions are built on the
 * first call for each input shape (the batch dimension stays dynamic) and kept.
 */
import { NativeSession, type RawTensor } from '../runtime/native-session.js';
import { encodeModel } from '../runtime/onnx-model.js';
import { getNumThreads } from '../runtime/threads.js';
import { type DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { GraphModule } from './graph-module.js';
import { lowerGraph } from './onnx-export.js';
import { symbolicTrace } from './symbolic-trace.js';

export interface CompileOptions {
  /** Which graph to compile for a module with train and eval graphs (default 'eval'). */
  mode?: 'train' | 'eval';
  /** Threads inside each op (default: `getNumThreads()`). */
  numThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

interface CompiledSession {
  session: NativeSession;
  /** How to rebuild the module's output from the session's outputs. */
  structure: 'tensor' | 'list' | 'dict';
}

/** A module compiled to ONNX Runtime: `call` (synchronous) and `run` (a Promise) give what the module gives. */
export class CompiledModule {
  private readonly sessions = new Map<string, CompiledSession>();

  constructor(
    readonly module: GraphModule,
    readonly options: CompileOptions = {},
  ) {}

  private sessionFor(inputs: readonly Tensor[]): CompiledSession {
    // Inputs that differ only in batch size share a session.
    const key = inputs.map((t) => `${t.dtype}[${t.shape.slice(1).join(',')}]`).join(';');
    let compiled = this.sessions.get(key);
    if (compiled === undefined) {
      const wasTraining = this.module.training;
      this.module.train(this.options.mode === 'train');
      try {
        const graph = lowerGraph(this.module, this.module.graph, { inputShape: inputs.map((t) => [...t.shape]) });
        const names = graph.outputs.map((o) => o.name);
        const structure =
          names.length === 1 && names[0] === 'output' ? 'tensor' : names[0] === 'output_0' ? 'list' : 'dict';
        const session = new NativeSession(encodeModel(graph), {
          intraOpNumThreads: this.options.numThreads ?? getNumThreads(),
          graphOptimizationLevel: this.options.graphOptimizationLevel ?? 'all',
        });
        compiled = { session, structure };
        this.sessions.set(key, compiled);
      } finally {
        this.module.train(wasTraining);
      }
    }
    return compiled;
  }

  /** Runs synchronously on the calling thread, as eager modules do. */
  call(...inputs: Tensor[]): unknown {
    for (const [i, t] of inputs.entries()) {
      if (!(t instanceof Tensor)) throw new TypeError(`[compile] input ${i} must be a Tensor`);
    }
    const { session, structure } = this.sessionFor(inputs);
    const raw: RawTensor[] = inputs.map((t) => ({ type: t.dtype, dims: t.shape, data: t.data }));
    const outputs = session.run(raw).map((r) => new Tensor(r.type as DType, r.dims, r.data as Tensor['data']));
    if (structure === 'tensor') return outputs[0];
    if (structure === 'list') return outputs;
    const dict: Record<string, Tensor> = {};
    session.outputNames.forEach((name, i) =>
      Object.defineProperty(dict, name, { value: outputs[i], enumerable: true, writable: true }),
    );
    return dict;
  }

  /** As `call`, resolved on a later tick, for code that expects ONNX Runtime's asynchronous API. */
  async run(...inputs: Tensor[]): Promise<unknown> {
    await new Promise((resolve) => setImmediate(resolve));
    return this.call(...inputs);
  }

  dispose(): void {
    for (const { session } of this.sessions.values()) session.dispose();
    this.sessions.clear();
  }
}

/**
 * Compiles a module to one ONNX Runtime session per input shape. A graph module (a feature
 * extractor, a `symbolicTrace` result) is compiled as it is; any other module is traced first,
 * in the mode to compile. Beyond torchvision.
 * @example
 * const fast = compile(createFeatureExtractor(resnet50(), { returnNodes: ['layer2'] }));
 * const out = fast.call(rand([8, 3, 224, 224])) as Record<string, Tensor>;
 * const logits = compile(resnet50().eval()).call(rand([1, 3, 224, 224])) as Tensor;
 */
export function compile(module: Module, options: CompileOptions = {}): CompiledModule {
  if (module instanceof GraphModule) return new CompiledModule(module, options);
  const wasTraining = module.training;
  module.train(options.mode === 'train');
  try {
    return new CompiledModule(symbolicTrace(module), options);
  } finally {
    module.train(wasTraining);
  }
}
