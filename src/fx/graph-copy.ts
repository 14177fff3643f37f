/**
 * Copying a graph, as torch.fx's `Graph.__deepcopy__`: new nodes with the same names, opcodes,
 * targets and arguments, so that editing the copy leaves the original as it was. Constants inside
 * arguments (tensors, wrapped functions) are shared, as torch.fx shares them; `meta` is copied
 * one level deep, with node references in it pointing to the copy's nodes.
 */
import type { CloneMemo } from '../nn/module.js';
import { Graph } from './graph.js';
import { type Argument, Node, mapArgument } from './node.js';

export function copyGraph(graph: Graph): Graph {
  const copy = new Graph();
  const copies = new Map<Node, Node>();
  // A reference to a node the graph no longer holds (erased) stays as it is.
  const remap = (n: Node): Node => copies.get(n) ?? n;
  for (const node of graph.nodes()) {
    copies.set(node, copy.createNode(node.op, node.target, mapArgument(node.args, remap) as Argument[], node.name));
  }
  // After all nodes exist, since meta may name later nodes (a module call's output).
  for (const [node, created] of copies) {
    for (const [key, value] of Object.entries(node.meta)) created.meta[key] = mapArgument(value as Argument, remap);
  }
  return copy;
}

/** The copy of `graph` made during one `clone()`, made on first request, so that one graph stays one. */
export function cloneGraph(graph: Graph, memo: CloneMemo): Graph {
  const done = memo.get(graph);
  if (done instanceof Graph) return done;
  const copy = copyGraph(graph);
  memo.set(graph, copy);
  return copy;
}
