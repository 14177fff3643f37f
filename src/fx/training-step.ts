/**
 * `compileTrainingStep`: forward, loss, backward and the optimizer's update as one ONNX Runtime
 * session. The model's training graph is lowered with its parameters, buffers and the optimizer's
 * state as inputs; the loss is lowered after it; `differentiate` writes the gradients with each
 * op's own backward rule; the optimizer's `update` (the one its eager `step` runs) is lowered per
 * parameter. After each run the new values are written back into the parameters (in place, as
 * `optimizer.step()` does), the optimizer's state and BatchNorm's running statistics, so eager
 * and compiled use of the model stay in step.
 */
import { AutogradError } from '../errors.js';
import { Module } from '../nn/module.js';
import { batchNormStats } from '../ops/batch-norm.js';
import { type GraphBuilder, type Value, isValue } from '../ops/lowering.js';
import type { Optimizer, ParamGroup } from '../optim/optimizer.js';
import { NativeSession, type RawTensor } from '../runtime/native-session.js';
import { encodeModel } from '../runtime/onnx-model.js';
import { SessionLru } from '../runtime/session-lru.js';
import { getNumThreads } from '../runtime/threads.js';
import { full } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { type TapeEntry, differentiate, lowerOps } from './autodiff.js';
import { type GraphModule, resolvePath } from './graph-module.js';
import { lowerOpen, toGraphModule } from './onnx-export.js';

export interface TrainingStepOptions {
  /**
   * The loss, from the model's output and the arguments of `call` after the model's inputs (the
   * targets), written with ops, e.g. `(logits, labels) => F.crossEntropy(logits, labels)`.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the model's output is whatever it returns
  loss: (output: any, ...targets: Tensor[]) => Tensor;
  /** The optimizer whose update runs in the session, and whose state it keeps. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any optimizer's options
  optimizer: Optimizer<any>;
  /** Threads inside each op (default: `getNumThreads()`). */
  numThreads?: number;
  /** Sessions kept, one per input shape (default 2). */
  maxSessions?: number;
}

/** Where each input of the session comes from, read again on every call. */
type Feed = (args: readonly Tensor[]) => Tensor;

/** What to write back after a run, one entry per output after the loss. */
type WriteBack = (value: Tensor) => void;

interface StepSession {
  session: NativeSession;
  feeds: Feed[];
  writeBacks: WriteBack[];
  dispose(): void;
}

function raw(t: Tensor): RawTensor {
  return { type: t.dtype, dims: t.shape, data: t.data };
}

/** A one-element tensor of `value`, fed as a step's scalar (learning rate, bias correction). */
function scalarTensor(value: number, dtype: DType): Tensor {
  return full([], value, { dtype });
}

/** Forward, loss, backward and update of a model as one ONNX Runtime session per input shape. */
export class CompiledTrainingStep {
  readonly module: GraphModule;
  private readonly sessions: SessionLru<StepSession>;

  constructor(
    model: Module,
    readonly options: TrainingStepOptions,
  ) {
    if (!(model instanceof Module)) throw new TypeError('[compileTrainingStep] model must be a featurefx Module');
    if (typeof options?.loss !== 'function') {
      throw new TypeError('[compileTrainingStep] options.loss must be a function (output, ...targets) => loss');
    }
    if (typeof options.optimizer?.update !== 'function') {
      throw new TypeError('[compileTrainingStep] options.optimizer must be an optimizer, e.g. new optim.SGD(...)');
    }
    this.module = toGraphModule(model, 'train');
    this.sessions = new SessionLru(options.maxSessions ?? 2);
  }

  /** How many of `call`'s arguments the model takes; the rest go to the loss. */
  get modelInputCount(): number {
    return [...this.module.graph.nodes()].filter((n) => n.op === 'placeholder').length;
  }

  /**
   * One training step on a batch: the model's inputs, then the loss's targets. Returns the loss
   * (computed before the update, as an eager step's `loss` is); the parameters are updated.
   */
  call(...args: Tensor[]): Tensor {
    args.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new TypeError(`[compileTrainingStep] argument ${i} must be a Tensor`);
    });
    if (args.length < this.modelInputCount) {
      throw new TypeError(
        `[compileTrainingStep] the model takes ${this.modelInputCount} input(s); call(inputs..., targets...)`,
      );
    }
    const key = args.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join(';');
    let entry = this.sessions.get(key);
    if (entry === undefined) {
      entry = this.build(args);
      this.sessions.add(key, entry);
    }
    const outputs = entry.session.run(entry.feeds.map((feed) => raw(feed(args))));
    const tensors = outputs.map((o) => new Tensor(o.type as DType, o.dims, o.data as Tensor['data']));
    entry.writeBacks.forEach((write, i) => write(tensors[i + 1]!));
    return tensors[0]!;
  }

  private build(args: readonly Tensor[]): StepSession {
    const gm = this.module;
    const count = this.modelInputCount;
    const wasTraining = gm.training;
    gm.train(true);
    let open;
    try {
      open = lowerOpen(
        gm,
        gm.graph,
        args.slice(0, count).map((t) => t.shape),
        { withTape: true, tensorsAsInputs: true },
      );
    } finally {
      gm.train(wasTraining);
    }
    const { builder } = open;
    const tape: TapeEntry[] = [...open.tape];
    const feeds = new Map<string, Feed>();
    builder.inputs.slice(0, count).forEach((input, i) => feeds.set(input.name, (a) => a[i]!));
    for (const path of open.tensorPaths.values()) feeds.set(path, () => resolvePath(gm, path) as Tensor);
    const targets = args.slice(count).map((t, i) => {
      feeds.set(`target_${i}`, (a) => a[count + i]!);
      return builder.addInput(`target_${i}`, t.dtype, [...t.shape]);
    });
    const [loss] = lowerOps(builder, [open.result, ...targets], (out, ...ts) => [this.options.loss(out, ...ts)], tape);
    if (loss!.shape.length !== 0 && loss!.shape.some((d) => d !== 1)) {
      throw new AutogradError(
        `[compileTrainingStep] the loss must have one element, got shape [${loss!.shape.join(', ')}]`,
      );
    }
    const outputs: { name: string; dtype: DType }[] = [
      { name: builder.rename(loss!.name, 'loss'), dtype: loss!.dtype },
    ];
    const writeBacks: WriteBack[] = [];
    const addOutput = (value: Value, name: string, write: WriteBack): void => {
      outputs.push({ name: builder.rename(value.name, name), dtype: value.dtype });
      writeBacks.push(write);
    };
    this.lowerUpdates(builder, tape, loss!, open.initializers, open.tensorPaths, feeds, addOutput);
    this.lowerRunningStats(builder, tape, feeds, addOutput);
    const session = new NativeSession(encodeModel(builder.finish('TrainingStep', outputs)), {
      intraOpNumThreads: this.options.numThreads ?? getNumThreads(),
      graphOptimizationLevel: 'all',
    });
    const plan = builder.inputs.map((input) => feeds.get(input.name)!);
    return { session, feeds: plan, writeBacks, dispose: () => session.dispose() };
  }

  /** The gradient of every trained parameter the graph reads, and the optimizer's update of it. */
  private lowerUpdates(
    builder: GraphBuilder,
    tape: readonly TapeEntry[],
    loss: Value,
    values: ReadonlyMap<Tensor, Value>,
    paths: ReadonlyMap<Tensor, string>,
    feeds: Map<string, Feed>,
    addOutput: (value: Value, name: string, write: WriteBack) => void,
  ): void {
    const optimizer = this.options.optimizer;
    const trained = optimizer.paramGroups.flatMap((group: ParamGroup<object>) =>
      group.params.filter((p) => p.requiresGrad && values.has(p)).map((param) => ({ param, group })),
    );
    const grads = differentiate(
      builder,
      tape,
      loss,
      trained.map(({ param }) => values.get(param)!),
    );
    trained.forEach(({ param, group }, i) => {
      const gradient = grads[i];
      if (gradient === null || gradient === undefined) return;
      const path = paths.get(param)!;
      const names: string[] = optimizer.stateNames(group);
      const stateInputs = Object.fromEntries(
        names.map((name) => {
          feeds.set(`${path}:${name}`, () => optimizer.stateTensors(param, group)[name]!);
          return [name, builder.addInput(`${path}:${name}`, param.dtype, [...param.shape])];
        }),
      );
      const scalarNames = Object.keys(optimizer.stepScalars(group, optimizer.stateOf(param)));
      const scalarInputs = Object.fromEntries(
        scalarNames.map((name) => {
          feeds.set(`${path}:@${name}`, () =>
            scalarTensor(optimizer.stepScalars(group, optimizer.stateOf(param))[name]!, param.dtype),
          );
          return [name, builder.addInput(`${path}:@${name}`, param.dtype, [])];
        }),
      );
      const [updated, ...newState] = lowerOps(
        builder,
        [values.get(param)!, gradient, stateInputs, scalarInputs],
        (p: Tensor, g: Tensor, state: Record<string, Tensor>, scalars: Record<string, Tensor>) => {
          const next = { ...state };
          const value = optimizer.update(p, g, next, group, scalars);
          return [value, ...names.map((name) => next[name])];
        },
      );
      addOutput(updated!, `${path}:new`, (value) => {
        param.copy_(value);
        optimizer.advance(optimizer.stateOf(param));
      });
      names.forEach((name, k) =>
        addOutput(newState[k]!, `${path}:${name}:new`, (value) => {
          optimizer.stateOf(param)[name] = value;
        }),
      );
    });
  }

  /**
   * BatchNorm's running statistics after the step, as its eager training forward replaces them:
   * each batch_norm on batch statistics whose running buffers are inputs gets the update of
   * `batch_norm_stats`, with its module's momentum.
   */
  private lowerRunningStats(
    builder: GraphBuilder,
    tape: readonly TapeEntry[],
    feeds: ReadonlyMap<string, Feed>,
    addOutput: (value: Value, name: string, write: WriteBack) => void,
  ): void {
    for (const entry of tape) {
      const [x, runningMean, runningVar, , , options] = entry.args as [
        unknown,
        unknown,
        unknown,
        unknown,
        unknown,
        { training?: boolean }?,
      ];
      if (entry.op.name !== 'batch_norm' || options?.training !== true) continue;
      if (!isValue(runningMean) || !isValue(runningVar) || !feeds.has(runningMean.name)) continue;
      const modulePath = runningMean.name.slice(0, runningMean.name.lastIndexOf('.'));
      const bn = resolvePath(this.module, modulePath) as Module & { momentum?: number | null };
      if (typeof bn.momentum !== 'number') {
        throw new AutogradError(
          `[compileTrainingStep] BatchNorm '${modulePath}' has momentum null (a cumulative average); give it a ` +
            'number, or train it eagerly',
        );
      }
      const momentum = bn.momentum;
      const [mean, variance] = lowerOps(builder, [x, runningMean, runningVar], (input, m, v) =>
        batchNormStats(input, m, v, momentum),
      );
      const replace = (name: string) => (value: Tensor) => bn.setTensor(name, value);
      addOutput(mean!, `${modulePath}.running_mean:new`, replace('running_mean'));
      addOutput(variance!, `${modulePath}.running_var:new`, (value) => {
        replace('running_var')(value);
        const tracked = (bn as unknown as { num_batches_tracked?: Tensor | null }).num_batches_tracked;
        if (tracked instanceof Tensor)
          bn.setTensor('num_batches_tracked', full([], Number(tracked.item()) + 1, { dtype: 'int64' }));
      });
    }
  }

  dispose(): void {
    this.sessions.clear();
  }
}

/**
 * Compiles a training step: `step.call(inputs..., targets...)` runs forward, loss, backward and
 * the optimizer's update in one ONNX Runtime session and returns the loss; the model's
 * parameters, the optimizer's state and BatchNorm's running statistics are updated as an eager
 * `loss.backward(); optimizer.step()` would update them (`.grad` is left alone). Dropout is not
 * supported (its random mask stays inside ONNX Runtime); train such models eagerly.
 * @example
 * const model = resnet18({ numClasses: 4 });
 * const optimizer = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
 * const loss = (logits: Tensor, labels: Tensor) => F.crossEntropy(logits, labels);
 * const step = compileTrainingStep(model, { loss, optimizer });
 * step.call(rand([8, 3, 64, 64]), tensor([0, 1, 2, 3, 0, 1, 2, 3], { dtype: 'int64' })); // the loss
 */
export function compileTrainingStep(model: Module, options: TrainingStepOptions): CompiledTrainingStep {
  return new CompiledTrainingStep(model, options);
}
