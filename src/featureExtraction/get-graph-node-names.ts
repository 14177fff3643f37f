import type { Module } from '../nn/module.js';
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
 * The names of all nodes of `model`, in execution order, traced in train mode and in eval mode,
 * like torchvision's `get_graph_node_names`. The model's training flag is restored.
 *
 * @example
 * const [trainNodes, evalNodes] = getGraphNodeNames(resnet18());
 * trainNodes.slice(0, 5); // ['x', 'conv1', 'bn1', 'relu', 'maxpool']
 */
export function getGraphNodeNames(model: Module, options: GetGraphNodeNamesOptions = {}): [string[], string[]] {
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
