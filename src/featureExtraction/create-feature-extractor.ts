import { FeatureExtractionError } from '../errors.js';
import { describeValue } from '../fx/check-options.js';
import type { Graph } from '../fx/graph.js';
import type { Node } from '../fx/node.js';
import type { TracerOptions } from '../fx/tracer.js';
import { Module } from '../nn/module.js';
import type { OnnxFeatureExtractor } from '../onnx/onnx-feature-extractor.js';
import type { OnnxModel } from '../onnx/onnx-model.js';
import type { Tensor } from '../tensor/tensor.js';
import { DualGraphModule } from './dual-graph-module.js';
import { warnGraphDifferences } from './graph-differences.js';
import { NodePathTracer, withDefaultLeaves } from './node-path-tracer.js';
import { type ReturnNodes, isUnder, missingNodeError, toNodeMap } from './return-nodes.js';

export type { ReturnNodes } from './return-nodes.js';

export interface FeatureExtractorOptions {
  /** Nodes to return in both modes. Give either this, or both train and eval return nodes. */
  returnNodes?: ReturnNodes;
  trainReturnNodes?: ReturnNodes;
  evalReturnNodes?: ReturnNodes;
  /** Options for the tracer (leaf modules, autowrapped functions); torchvision's default leaves are added. */
  tracerOptions?: TracerOptions;
  /** Do not warn when the train-mode and eval-mode graphs differ. */
  suppressDiffWarning?: boolean;
  /** Values that specialise some of forward's parameters; see `Tracer.trace`. */
  concreteArgs?: Record<string, unknown>;
}

const OPTION_KEYS = new Set([
  'returnNodes',
  'trainReturnNodes',
  'evalReturnNodes',
  'tracerOptions',
  'suppressDiffWarning',
  'concreteArgs',
]);

type Mode = 'train' | 'eval';

function checkOptions(options: FeatureExtractorOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new FeatureExtractionError(
      "createFeatureExtractor takes an options object, e.g. createFeatureExtractor(model, { returnNodes: ['layer1'] })",
    );
  }
  const unknown = Object.keys(options).filter((k) => !OPTION_KEYS.has(k));
  if (unknown.length > 0) {
    throw new FeatureExtractionError(
      `unknown option(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the options are ${[...OPTION_KEYS].join(', ')}. ` +
        `Node names go in returnNodes, e.g. { returnNodes: { layer1: 'feat1' } }`,
    );
  }
  const { returnNodes, trainReturnNodes, evalReturnNodes } = options;
  if (returnNodes === undefined && trainReturnNodes === undefined && evalReturnNodes === undefined) {
    throw new FeatureExtractionError(
      'Either `returnNodes` or `trainReturnNodes` and `evalReturnNodes` together, should be specified',
    );
  }
  if ((trainReturnNodes === undefined) !== (evalReturnNodes === undefined)) {
    throw new FeatureExtractionError(
      'If any of `trainReturnNodes` and `evalReturnNodes` are specified, then both should be specified',
    );
  }
  if ((returnNodes === undefined) === (trainReturnNodes === undefined)) {
    throw new FeatureExtractionError(
      'If `trainReturnNodes` and `evalReturnNodes` are specified, then `returnNodes` should not be specified',
    );
  }
}

/** Rewrites a traced graph to return the requested nodes as `{ key: value }` and prunes the rest. */
function selectOutputs(graph: Graph, tracer: NodePathTracer, requested: Map<string, string>, mode: Mode): void {
  const available = tracer.nodeNames();
  for (const query of requested.keys()) {
    if (!available.some((name) => isUnder(name, query))) {
      throw missingNodeError(
        query,
        available,
        `the model traced in ${mode} mode`,
        'Use getGraphNodeNames(model) to list the nodes; the train and eval graphs may differ, in which case ' +
          'give trainReturnNodes and evalReturnNodes separately.',
      );
    }
  }
  const output = graph.findOutput();
  if (output !== undefined) {
    output.args = [];
    graph.eraseNode(output);
  }
  // A truncated name means the last node (in execution order) under it: search backwards.
  const found = new Map<string, Node>();
  const pending = new Map(requested);
  for (const node of graph.reversedNodes()) {
    if (pending.size === 0) break;
    const name = tracer.nodeToQualname.get(node);
    if (name === undefined) continue;
    for (const query of pending.keys()) {
      if (isUnder(name, query)) {
        found.set(query, node);
        pending.delete(query);
        break;
      }
    }
  }
  const result: Record<string, Node> = {};
  for (const [query, key] of requested) {
    Object.defineProperty(result, key, { value: found.get(query)!, enumerable: true, writable: true });
  }
  graph.output(result);
  graph.eliminateDeadCode();
}

/** The ONNX path: a file holds one graph, already exported, so only `returnNodes` applies. */
function onnxExtractor(model: OnnxModel, options: FeatureExtractorOptions): OnnxFeatureExtractor {
  // Checked without importing the onnx layer, which `createFeatureExtractor(module)` callers do not need.
  if (typeof (model as Partial<OnnxModel> | null)?.featureExtractor !== 'function') {
    throw new TypeError(
      `createFeatureExtractor takes a Module or an OnnxModel (OnnxModel.load('model.onnx')), got ${describeValue(model)}`,
    );
  }
  if (options.returnNodes === undefined) {
    throw new FeatureExtractionError(
      'an ONNX file holds one graph, exported in one mode: give returnNodes, not trainReturnNodes and evalReturnNodes',
    );
  }
  const tracing = (['tracerOptions', 'concreteArgs'] as const).filter((k) => options[k] !== undefined);
  if (tracing.length > 0) {
    throw new FeatureExtractionError(
      `${tracing.join(' and ')} apply to tracing a Module; an ONNX file is not traced: give returnNodes only`,
    );
  }
  return model.featureExtractor(options.returnNodes);
}

/**
 * An extractor of nodes of an ONNX file (`OnnxModel.load(path)`), named as `getGraphNodeNames(onnxModel)`
 * lists them: full, truncated and keyed names as for a module. The file is pruned to what the nodes
 * need and run by ONNX Runtime; the extractor's `call` returns `{ key: tensor }`, `save` writes the
 * pruned model.
 *
 * @example
 * const onnxModel = await OnnxModel.load('regnet.onnx'); // a small RegNet exported by torch.onnx
 * const extractor = createFeatureExtractor(onnxModel, { returnNodes: { 'trunk_output.block1': 'block1' } });
 * const { block1 } = extractor.call(rand([1, 3, 64, 64])); // block1.shape = [1, 8, 16, 16]
 * extractor.save('regnet-block1.onnx'); // the pruned model, its output named 'block1'
 */
export function createFeatureExtractor(model: OnnxModel, options: FeatureExtractorOptions): OnnxFeatureExtractor;
/**
 * A module returning intermediate nodes of `model` as `{ key: tensor }`, like torchvision's
 * `create_feature_extractor`: the model is traced (in train and eval mode), the requested nodes
 * become the outputs, and everything they do not need, computation and parameters, is dropped.
 * Outputs come in the order requested. The model's training flag is left as it was.
 *
 * @example
 * const extractor = createFeatureExtractor(resnet18(), { returnNodes: { layer1: 'feat1', layer3: 'feat2' } });
 * const out = extractor.call(rand([1, 3, 224, 224])) as Record<string, Tensor>;
 * // out.feat1.shape = [1, 64, 56, 56], out.feat2.shape = [1, 256, 14, 14]
 */
export function createFeatureExtractor(model: Module, options: FeatureExtractorOptions): DualGraphModule;
// The Module overload comes last, so that `ReturnType<typeof createFeatureExtractor>` stays DualGraphModule.
export function createFeatureExtractor(
  model: Module | OnnxModel,
  options: FeatureExtractorOptions,
): DualGraphModule | OnnxFeatureExtractor {
  checkOptions(options);
  if (!(model instanceof Module)) return onnxExtractor(model, options);
  const requested: Record<Mode, Map<string, string>> = options.returnNodes !== undefined
    ? { train: toNodeMap(options.returnNodes, 'returnNodes'), eval: toNodeMap(options.returnNodes, 'returnNodes') }
    : {
        train: toNodeMap(options.trainReturnNodes!, 'trainReturnNodes'),
        eval: toNodeMap(options.evalReturnNodes!, 'evalReturnNodes'),
      };
  const tracerOptions = withDefaultLeaves(options.tracerOptions);
  const traceOptions = options.concreteArgs !== undefined ? { concreteArgs: options.concreteArgs } : {};
  const wasTraining = model.training;
  try {
    const graphs = {} as Record<Mode, Graph>;
    const names = {} as Record<Mode, string[]>;
    const constants = new Map<string, Tensor>();
    for (const mode of ['train', 'eval'] as const) {
      model.train(mode === 'train');
      const tracer = new NodePathTracer(tracerOptions);
      tracer.constantPrefix = `_tensor_constant_${mode}`;
      const graph = tracer.trace(model, traceOptions);
      selectOutputs(graph, tracer, requested[mode], mode);
      graphs[mode] = graph;
      names[mode] = tracer.nodeNames();
      for (const [name, t] of tracer.tensorConstants) constants.set(name, t);
    }
    if (options.suppressDiffWarning !== true) warnGraphDifferences(names.train, names.eval);
    const extractor = new DualGraphModule(model, graphs.train, graphs.eval, model.className, constants);
    return extractor.train(wasTraining);
  } finally {
    model.train(wasTraining);
  }
}
