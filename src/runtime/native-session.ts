/**
 * The one place that touches onnxruntime-node's native binding.
 *
 * The public `InferenceSession.run` of onnxruntime-node only wraps the binding's synchronous `run`
 * in a Promise (see its dist/backend.js). Eager execution must stay synchronous, as PyTorch's is,
 * so we call the binding directly, and check the package version this was written against so
 * that an upgrade fails loudly here instead of strangely elsewhere.
 */
import { createRequire } from 'node:module';
import { type Env, Tensor as OrtTensor } from 'onnxruntime-common';
import type { RawTensor } from './raw-tensor.js';

export type { RawData, RawTensor } from './raw-tensor.js';

const require = createRequire(import.meta.url);

/** The onnxruntime-node release whose binding interface this file was written against. */
const SUPPORTED_ORT_VERSION = '1.30.';
/** onnxruntime-common's default `env.logLevel`. */
const DEFAULT_ORT_LOG_LEVEL = 'warning';
/** ORT's severity number of each `env.logLevel`. */
const SEVERITY = { verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 } as const;

export interface NativeSessionOptions {
  intraOpNumThreads: number;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  /** Where ORT writes the model as optimised, in ORT's own format (for the on-disk cache, model-cache.ts). */
  optimizedModelFilePath?: string;
  /**
   * The model is in ORT's format (such a file): ORT then uses its bytes for the weights instead of
   * copying them, so the session keeps `model` alive and it must not be written to.
   */
  ortFormat?: boolean;
}

interface BindingSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: { name: string }[];
  readonly outputMetadata: { name: string }[];
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: object): Record<string, RawTensor>;
  dispose(): void;
}

interface Binding {
  binding: { InferenceSession: new () => BindingSession };
  initOrt(): void;
}

function loadBinding(): Binding {
  const pkg = require('onnxruntime-node/package.json') as { version: string };
  if (!pkg.version.startsWith(SUPPORTED_ORT_VERSION)) {
    throw new Error(
      `featurefx needs onnxruntime-node ${SUPPORTED_ORT_VERSION}x, found ${pkg.version}. ` +
        `Install that version in your project with \`npm install onnxruntime-node@~${SUPPORTED_ORT_VERSION}0\` ` +
        `(an npm override or a second copy elsewhere can shadow featurefx's own; \`npm ls onnxruntime-node\` shows which).`,
    );
  }
  let mod: Binding;
  try {
    mod = require('onnxruntime-node/dist/binding.js') as Binding;
  } catch (cause) {
    throw new Error(
      `onnxruntime-node's native binding failed to load on ${process.platform}/${process.arch}. ` +
        `Reinstall it (\`npm install onnxruntime-node@~${SUPPORTED_ORT_VERSION}0\`); this platform may not be supported by onnxruntime-node.`,
      { cause },
    );
  }
  if (typeof mod.binding?.InferenceSession !== 'function' || typeof mod.initOrt !== 'function') {
    throw new Error(
      `onnxruntime-node ${pkg.version} has an unexpected binding interface; reinstall it with \`npm install onnxruntime-node@~${SUPPORTED_ORT_VERSION}0\`.`,
    );
  }
  // ORT logs warnings to stderr by default ("Removing initializer ... It is not used" for every
  // unused statistic of a train-mode graph): a library must not print unasked. A level the user
  // set on onnxruntime-common's `env` before featurefx's first kernel is kept. The binding reads
  // the CommonJS instance of `env`, which is not the one an ESM import gives.
  const { env } = require('onnxruntime-common') as { env: Env };
  if (env.logLevel === DEFAULT_ORT_LOG_LEVEL) env.logLevel = 'error';
  logLevel = env.logLevel ?? 'error';
  mod.initOrt();
  return mod;
}

let binding: Binding | undefined;
/** The log level of the ORT environment, which sessions take as theirs. */
let logLevel: keyof typeof SEVERITY = 'error';

/** A loaded ONNX model whose `run` is synchronous. */
export class NativeSession {
  private readonly session: BindingSession;
  readonly inputNames: string[];
  readonly outputNames: string[];
  private readonly fetches: Record<string, null>;
  /** With `ortFormat`, the model's bytes, which ORT reads the weights from: held as long as the session. */
  readonly ortModelBytes: Uint8Array | undefined;

  constructor(model: Uint8Array, options: NativeSessionOptions) {
    binding ??= loadBinding();
    this.session = new binding.binding.InferenceSession();
    const save = options.optimizedModelFilePath;
    this.ortModelBytes = options.ortFormat === true ? model : undefined;
    this.session.loadModel(model.buffer, model.byteOffset, model.byteLength, {
      intraOpNumThreads: options.intraOpNumThreads,
      interOpNumThreads: 1,
      graphOptimizationLevel: options.graphOptimizationLevel,
      ...(save !== undefined && { optimizedModelFilePath: save }),
      executionMode: 'sequential',
      // Sessions serve many input shapes (their sizes are symbolic), and ORT's memory patterns are
      // planned per shape: with them, compiled resnet50 fed 4 shapes grew by 80 MB over its first
      // rounds; without, 11 MB and 90 MB lower, at the same speed (within noise).
      enableMemPattern: false,
      // Sessions log through their own level, which would otherwise be 'warning' again.
      logSeverityLevel: SEVERITY[logLevel],
      // A session with more than one thread has its own pool. Workers that busy-wait after a run (ORT's default)
      // steal the cores from the next session: with many eager kernels, resnet50 took 425 ms
      // with spinning and 83 ms without on 2 cores; a compiled model runs as fast either way.
      extra: {
        session: {
          intra_op: { allow_spinning: '0' },
          // ORT's format loads without parsing protobuf or copying weights: resnet50 in 0.2 s, not 0.4 s.
          ...(save !== undefined && { save_model_format: 'ORT' }),
          ...(options.ortFormat === true && {
            use_ort_model_bytes_directly: '1',
            use_ort_model_bytes_for_initializers: '1',
          }),
        },
      },
    });
    this.inputNames = this.session.inputMetadata.map((m) => m.name);
    this.outputNames = this.session.outputMetadata.map((m) => m.name);
    this.fetches = Object.fromEntries(this.outputNames.map((name) => [name, null]));
  }

  /** Runs the model synchronously. Inputs are given in the model's input order. */
  run(inputs: readonly RawTensor[]): RawTensor[] {
    const feeds: Record<string, OrtTensor> = {};
    inputs.forEach((t, i) => {
      feeds[this.inputNames[i]!] = new OrtTensor(t.type, t.data, t.dims);
    });
    const results = this.session.run(feeds, this.fetches, {});
    return this.outputNames.map((name) => {
      const r = results[name]!;
      return { type: r.type, dims: Array.from(r.dims), data: r.data };
    });
  }

  dispose(): void {
    this.session.dispose();
  }
}
