/**
 * An ONNX model cut down to chosen values: they become the graph's outputs, and only the nodes,
 * initializers, inputs, local functions and value infos they need are kept (what
 * `onnx.utils.extract_model` does in Python, for a model already in memory). The input model is
 * not changed; the result shares its unchanged parts (tensors' bytes included) with it.
 */
import type { FunctionProto, GraphProto, ModelProto, NodeProto, ValueInfoProto } from './model-proto.js';

/** How a node names the local function it calls (ONNX identifies one by domain, name and overload). */
function functionKey(domain: string | undefined, name: string | undefined, overload?: string): string {
  return `${domain ?? ''}\u0000${name ?? ''}\u0000${overload ?? ''}`;
}

function callKey(node: NodeProto): string {
  return functionKey(node.domain, node.opType, node.overload);
}

/** The graphs a node's attributes hold (the branches of If, the bodies of Loop and Scan). */
function subgraphsOf(node: NodeProto): GraphProto[] {
  const graphs: GraphProto[] = [];
  for (const attribute of node.attribute) {
    if (attribute.g !== undefined) graphs.push(attribute.g);
    graphs.push(...attribute.graphs);
  }
  return graphs;
}

/** Names a subgraph reads from the scopes around it: what its nodes use and it does not define. */
function outerReads(graph: GraphProto): Set<string> {
  const defined = new Set<string>();
  for (const value of graph.input) defined.add(value.name ?? '');
  for (const tensor of graph.initializer) defined.add(tensor.name ?? '');
  for (const tensor of graph.sparseInitializer) defined.add(tensor.values?.name ?? '');
  const reads = new Set<string>();
  for (const node of graph.node) {
    for (const name of nodeReads(node)) if (!defined.has(name)) reads.add(name);
    for (const name of node.output) defined.add(name);
  }
  return reads;
}

/** Every value a node needs: its inputs, and the outer values its subgraphs read. */
function nodeReads(node: NodeProto): string[] {
  // An empty name is an omitted optional input.
  const reads = node.input.filter((name) => name !== '');
  for (const graph of subgraphsOf(node)) reads.push(...outerReads(graph));
  return reads;
}

/** The local functions that `nodes` call, directly or through other functions and subgraphs. */
function calledFunctions(nodes: readonly NodeProto[], functions: readonly FunctionProto[]): Set<FunctionProto> {
  const byKey = new Map(functions.map((f) => [functionKey(f.domain, f.name, f.overload), f]));
  const called = new Set<FunctionProto>();
  const pending = [...nodes];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    const fn = byKey.get(callKey(node));
    if (fn !== undefined && !called.has(fn)) {
      called.add(fn);
      pending.push(...fn.node);
    }
    for (const graph of subgraphsOf(node)) pending.push(...graph.node);
  }
  return called;
}

/**
 * The graph output for `name`: its declared type where the file has one (a graph output, a value
 * info, an input, an initializer's dtype and dims); otherwise a bare name, whose type ONNX
 * Runtime infers when it loads the model.
 */
function outputInfo(graph: GraphProto, name: string): ValueInfoProto {
  const declared =
    graph.output.find((v) => v.name === name) ??
    graph.valueInfo.find((v) => v.name === name) ??
    graph.input.find((v) => v.name === name);
  if (declared !== undefined) return declared;
  const tensor = graph.initializer.find((t) => t.name === name);
  if (tensor === undefined) return { name, metadataProps: [] };
  const shape = { dim: tensor.dims.map((d) => ({ dimValue: d })) };
  return { name, type: { tensorType: { elemType: tensor.dataType ?? 0, shape } }, metadataProps: [] };
}

/**
 * `model` with `outputs` (value names, each produced by a node or an input or initializer of the
 * main graph) as its graph outputs, and everything they do not need removed. Nodes keep their
 * order, which ONNX requires to be topological.
 *
 * @throws RangeError when an output names no value of the graph.
 */
export function pruneModel(model: ModelProto, outputs: readonly string[]): ModelProto {
  const graph = model.graph;
  if (graph === undefined) throw new RangeError('pruneModel: the model has no graph to prune');
  const nodes = graph.node;
  const producer = new Map<string, number>();
  nodes.forEach((node, i) => {
    for (const name of node.output) if (name !== '') producer.set(name, i);
  });
  const sources = new Set([
    ...graph.input.map((v) => v.name ?? ''),
    ...graph.initializer.map((t) => t.name ?? ''),
  ]);
  for (const name of outputs) {
    if (!producer.has(name) && !sources.has(name)) {
      throw new RangeError(
        `pruneModel: '${name}' is not a value of the graph '${graph.name ?? ''}' (no node makes it and it is no ` +
          'input or initializer); pick one of its nodes\' outputs',
      );
    }
  }
  // Walk back from the outputs: a value's producer is kept, then the values that producer reads.
  const needed = new Set<string>();
  const keep = new Set<number>();
  const pending = [...outputs];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (needed.has(name)) continue;
    needed.add(name);
    const index = producer.get(name);
    if (index === undefined || keep.has(index)) continue;
    keep.add(index);
    pending.push(...nodeReads(nodes[index]!));
  }
  const keptNodes = nodes.filter((_, i) => keep.has(i));
  const made = new Set(keptNodes.flatMap((node) => node.output));
  const functions = calledFunctions(keptNodes, model.functions);
  const pruned: GraphProto = {
    ...graph,
    node: keptNodes,
    input: graph.input.filter((v) => needed.has(v.name ?? '')),
    initializer: graph.initializer.filter((t) => needed.has(t.name ?? '')),
    sparseInitializer: graph.sparseInitializer.filter((t) => needed.has(t.values?.name ?? '')),
    valueInfo: graph.valueInfo.filter((v) => made.has(v.name ?? '') && !outputs.includes(v.name ?? '')),
    output: [...new Set(outputs)].map((name) => outputInfo(graph, name)),
  };
  return { ...model, graph: pruned, functions: model.functions.filter((f) => functions.has(f)) };
}
