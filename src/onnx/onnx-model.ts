/**
 * `OnnxModel`: an ONNX file read once, whose nodes are listed by featurefx-style names and any of
 * which can be returned by a call. Each set of requested values gets the file pruned to what they
 * need (prune.ts) and its own ONNX Runtime session; sessions are kept, least recently used first,
 * so exploring a model (a different selection at each call) reads and parses the file only once.
 */
import { lastNodeUnder, missingNodeError, type ReturnNodes, toNodeMap } from '../featureExtraction/return-nodes.js';
import { NativeSession, type RawTensor } from '../runtime/native-session.js';
import { SessionLru } from '../runtime/session-lru.js';
import { getNumThreads } from '../runtime/threads.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import type { ModelProto, ValueInfoProto } from './model-proto.js';
import { type OnnxNamedNode, nameOnnxNodes } from './node-names.js';
import { OnnxFeatureExtractor } from './onnx-feature-extractor.js';
import { pruneModel } from './prune.js';
import { decodeOnnxModel, encodeOnnxModel } from './read-model.js';
import { readOnnxModel } from './read-model-file.js';

export interface OnnxModelOptions {
  /**
   * How many sessions (one per set of requested values) to keep, default 4. Each holds the weights
   * its pruned model needs and its own buffers; past this the least recently used is disposed.
   */
  maxSessions?: number;
}

/** A graph input a caller feeds: its name, element type code and declared dims (symbolic as strings). */
export interface OnnxInput {
  name: string;
  elemType: number | undefined;
  shape: (number | string)[] | undefined;
}

const DEFAULT_MAX_SESSIONS = 4;

function inputInfo(value: ValueInfoProto): OnnxInput {
  const tensorType = value.type?.tensorType;
  return {
    name: value.name ?? '',
    elemType: tensorType?.elemType,
    shape: tensorType?.shape?.dim.map((d) => d.dimValue ?? d.dimParam ?? '?'),
  };
}

export class OnnxModel {
  private readonly sessions: SessionLru<NativeSession>;
  private named: OnnxNamedNode[] | undefined;
  /** Sessions built and sessions taken from the cache, since the model was loaded. */
  readonly sessionStats = { built: 0, reused: 0 };

  /** Use `OnnxModel.load(path)` or `OnnxModel.fromBytes(bytes)`. */
  private constructor(
    /** The decoded file: read it, do not change it (pruned models share its parts). */
    readonly proto: ModelProto,
    /** How messages name the model: its path, or 'the ONNX model'. */
    readonly source: string,
    options: OnnxModelOptions,
  ) {
    const max = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`OnnxModel: maxSessions must be a positive integer, got ${String(max)}; e.g. { maxSessions: 4 }`);
    }
    this.sessions = new SessionLru(max);
  }

  /**
   * Reads an ONNX file (and its external data, inside the file's folder).
   *
   * @example
   * const model = await OnnxModel.load('regnet.onnx'); // a small RegNet exported by torch.onnx
   * model.nodeNames().slice(0, 3); // ['x', 'stem.0', 'stem.2']
   * const { stem, block1 } = model.run(rand([1, 3, 64, 64]), { stem: 'stem', 'trunk_output.block1': 'block1' });
   */
  static async load(path: string, options: OnnxModelOptions = {}): Promise<OnnxModel> {
    return new OnnxModel(await readOnnxModel(path), path, options);
  }

  /** An ONNX model from a file's bytes (no external data). */
  static fromBytes(bytes: Uint8Array, options: OnnxModelOptions = {}): OnnxModel {
    return new OnnxModel(decodeOnnxModel(bytes), 'the ONNX model', options);
  }

  /** The graph inputs a caller feeds (initializers some files also list as inputs are not). */
  inputs(): OnnxInput[] {
    const graph = this.proto.graph;
    if (graph === undefined) return [];
    const initializers = new Set(graph.initializer.map((t) => t.name));
    return graph.input.filter((v) => !initializers.has(v.name)).map(inputInfo);
  }

  /** Every node with its featurefx-style name, ONNX op type, output value and declared shape. */
  nodes(): OnnxNamedNode[] {
    this.named ??= nameOnnxNodes(this.proto);
    return this.named;
  }

  /** The node names, in execution order, as `getGraphNodeNames` gives them for a traced model. */
  nodeNames(): string[] {
    return this.nodes().map((n) => n.name);
  }

  /**
   * For each requested node name (full, or truncated: the last node under it), its output key and
   * the ONNX value holding it, in the order requested.
   *
   * @throws FeatureExtractionError for a name no node has (with the closest names), or malformed return nodes.
   */
  select(returnNodes: ReturnNodes, label = 'returnNodes'): Map<string, string> {
    const requested = toNodeMap(returnNodes, label);
    const nodes = this.nodes();
    const names = nodes.map((n) => n.name);
    const selected = new Map<string, string>();
    for (const [query, key] of requested) {
      const last = lastNodeUnder(names, query);
      if (last < 0) {
        throw missingNodeError(
          query,
          names,
          this.source === 'the ONNX model' ? this.source : `the ONNX model ${this.source}`,
          'Use onnxModel.nodeNames() or getGraphNodeNames(onnxModel) to list the nodes (`featurefx nodes model.onnx`).',
        );
      }
      selected.set(key, nodes[last]!.output);
    }
    return selected;
  }

  /**
   * An extractor of `returnNodes` (`createFeatureExtractor(onnxModel, { returnNodes })` calls this):
   * names are checked now, and its calls share this model's sessions.
   */
  featureExtractor(returnNodes: ReturnNodes): OnnxFeatureExtractor {
    return new OnnxFeatureExtractor(this, returnNodes);
  }

  /**
   * Runs the model pruned to `returnNodes` and returns their outputs as `{ key: tensor }`, keyed as
   * `createFeatureExtractor` keys them. `input` is a tensor for a model with one input, or a record
   * by input name. Sessions are cached per set of outputs, so repeating a selection builds nothing.
   */
  run(input: Tensor | Readonly<Record<string, Tensor>>, returnNodes: ReturnNodes): Record<string, Tensor> {
    return this.runSelected(input, this.select(returnNodes));
  }

  /** `run` for a selection made by `select`. */
  runSelected(
    input: Tensor | Readonly<Record<string, Tensor>>,
    selected: ReadonlyMap<string, string>,
  ): Record<string, Tensor> {
    const values = [...new Set(selected.values())].sort();
    const session = this.sessionFor(values);
    const raw = session.run(this.feeds(input, session.inputNames));
    const byValue = new Map(session.outputNames.map((name, i) => [name, raw[i]!]));
    const result: Record<string, Tensor> = {};
    for (const [key, value] of selected) {
      const r = byValue.get(value)!;
      // defineProperty, so that a key named `__proto__` is a key like any other.
      Object.defineProperty(result, key, {
        value: new Tensor(r.type as DType, r.dims, r.data as Tensor['data']),
        enumerable: true,
        writable: true,
      });
    }
    return result;
  }

  /** Disposes the cached sessions (they are rebuilt when needed). */
  dispose(): void {
    this.sessions.clear();
  }

  private sessionFor(values: readonly string[]): NativeSession {
    // A session keeps the thread count it was built with: after setNumThreads, new ones are built.
    const key = JSON.stringify([getNumThreads(), values]);
    const cached = this.sessions.get(key);
    if (cached !== undefined) {
      this.sessionStats.reused++;
      return cached;
    }
    const session = new NativeSession(encodeOnnxModel(pruneModel(this.proto, values)), {
      intraOpNumThreads: getNumThreads(),
      graphOptimizationLevel: 'all',
    });
    this.sessionStats.built++;
    this.sessions.add(key, session);
    return session;
  }

  /** The session's inputs in its order, from one tensor or a record by input name. */
  private feeds(input: Tensor | Readonly<Record<string, Tensor>>, names: readonly string[]): RawTensor[] {
    const raw = (t: Tensor): RawTensor => ({ type: t.dtype, dims: t.shape, data: t.data });
    const declared = this.inputs().map((i) => i.name);
    if (input instanceof Tensor) {
      if (declared.length !== 1) {
        throw new TypeError(
          `${this.source} has ${declared.length} inputs (${declared.join(', ')}): pass a record of tensors by input name, ` +
            `e.g. { ${declared[0] ?? 'x'}: tensor }`,
        );
      }
      return names.map(() => raw(input));
    }
    if (typeof input !== 'object' || input === null) {
      throw new TypeError(`OnnxModel.run: input must be a Tensor or a record of Tensors by input name, got ${typeof input}`);
    }
    const unknown = Object.keys(input).filter((name) => !declared.includes(name));
    if (unknown.length > 0) {
      throw new RangeError(
        `OnnxModel.run: ${unknown.map((n) => `'${n}'`).join(', ')} is not an input of ${this.source}; its inputs are ` +
          `${declared.map((n) => `'${n}'`).join(', ')}`,
      );
    }
    return names.map((name) => {
      const t = Object.hasOwn(input, name) ? input[name] : undefined;
      if (!(t instanceof Tensor)) {
        throw new TypeError(
          `OnnxModel.run: the selected nodes need the input '${name}', ` +
            (t === undefined ? 'which was not given' : `which is not a Tensor`) +
            `; pass { ${name}: tensor }`,
        );
      }
      return raw(t);
    });
  }
}
