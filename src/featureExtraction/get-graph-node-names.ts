import { Module } from '../nn/module.js';
import type { OnnxModel } from '../onnx/onnx-model.js';
import { describeValue } from '../fx/check-options.js';
import type { TracerOptions } from '../fx/tracer.js';
import { warnGraphDifferences } from './graph-differences.js';
import { NodePathTracer, withDefaultLeaves } from './node-path-tracer.js';

export interface GetGraphNodeNamesOptions {
  /** Options for the tracer (leaf modules, autowrapped functions); torchvision's default leaves are added. */
  tracerOptions?: TracerOptions;
  /** Do not warn when the train-mode and eval-mode graphs differ. */
  suppressDiffWarning?: boolean;
}

/**
 * The node names of an ONNX file (`OnnxModel.load(path)`), from the module scopes torch.onnx and
 * featurefx write (see src/onnx/node-names.ts): twice the same list, since a file holds one graph.
 *
 * @example
 * const [, names] = getGraphNodeNames(await OnnxModel.load('regnet.onnx')); // a RegNet exported by torch.onnx
 * names.slice(0, 4); // ['x', 'stem.0', 'stem.2', 'stem']
 */
export function getGraphNodeNames(model: OnnxModel): [string[], string[]];
/**
 * The names of all nodes of `model`, in execution order, traced in train mode and in eval mode,
 * like torchvision's `get_graph_node_names`. The model's training flag is restored. (This overload
 * comes last, so that `Parameters<typeof getGraphNodeNames>` gives its options.)
 *
 * @example
 * const [trainNodes, evalNodes] = getGraphNodeNames(resnet18());
 * trainNodes.slice(0, 5); // ['x', 'conv1', 'bn1', 'relu', 'maxpool']
 */
export function getGraphNodeNames(model: Module, options?: GetGraphNodeNamesOptions): [string[], string[]];
export function getGraphNodeNames(
  model: Module | OnnxModel,
  options: GetGraphNodeNamesOptions = {},
): [string[], string[]] {
  if (!(model instanceof Module)) return onnxNodeNames(model);
  const wasTraining = model.training;
  const tracerOptions = withDefaultLeaves(options.tracerOptions);
  try {
    const trainTracer = new NodePathTracer(tracerOptions);
    trainTracer.trace(model.train());
    const evalTracer = new NodePathTracer(tracerOptions);
    evalTracer.trace(model.eval());
    const trainNodes = trainTracer.nodeNames();
    const evalNodes = evalTracer.nodeNames();
    if (options.suppressDiffWarning !== true) warnGraphDifferences(trainNodes, evalNodes);
    return [trainNodes, evalNodes];
  } finally {
    model.train(wasTraining);
  }
}

function onnxNodeNames(model: OnnxModel): [string[], string[]] {
  // Checked without importing the onnx layer, which callers with a Module do not need.
  if (typeof (model as Partial<OnnxModel> | null)?.nodeNames !== 'function') {
    throw new TypeError(
      `getGraphNodeNames takes a Module or an OnnxModel (OnnxModel.load('model.onnx')), got ${describeValue(model)}`,
    );
  }
  const names = model.nodeNames();
  return [names, [...names]];
}
