/**
 * Calls of modules that tracing went through (not leaves). torch.fx inlines such a module's code
 * and keeps nothing of the call, so the module's hooks never run again. Feature extraction records
 * each call on the nodes it made (`meta.moduleStack`, outermost call first), and a GraphModule's
 * generated code runs the module's hooks where its inlined code starts and ends
 * (torchvision #5193).
 */
import { type Argument, type Node, nodesIn } from './node.js';

export interface ModuleCall {
  /** Tells calls apart: a module called twice makes two, and graph copies copy the records. */
  readonly id: number;
  /** The module's dotted path in the traced root. */
  readonly path: string;
  /** The arguments it was called with, as graph arguments. */
  readonly inputs: readonly Argument[];
  /** What its forward returned, set when it returns. */
  output?: Argument;
}

/** The traced-through calls that made `node`, outermost first. */
export function moduleStackOf(node: Node): readonly ModuleCall[] {
  return (node.meta.moduleStack as readonly ModuleCall[] | undefined) ?? [];
}

export interface HookSites {
  /** Calls whose pre-hooks run just before the node, outermost first. */
  readonly before: Map<Node, ModuleCall[]>;
  /** Calls whose forward hooks run just after the node, innermost first. */
  readonly after: Map<Node, ModuleCall[]>;
}

/**
 * Where the hooks of each recorded call run among `nodes` (a graph's nodes, in order): pre-hooks
 * before the first node the call made, forward hooks after its last. A call whose inputs (or
 * output) the graph no longer computes, pruned away, runs no pre-hooks (or forward hooks).
 */
export function hookSites(nodes: readonly Node[]): HookSites {
  const present = new Set(nodes);
  const computed = (arg: Argument | undefined): boolean =>
    arg !== undefined && nodesIn(arg).every((n) => present.has(n));
  const before = new Map<Node, ModuleCall[]>();
  const seen = new Set<number>();
  const last = new Map<number, { node: Node; call: ModuleCall; depth: number }>();
  for (const node of nodes) {
    moduleStackOf(node).forEach((call, depth) => {
      if (!seen.has(call.id)) {
        seen.add(call.id);
        if (computed(call.inputs)) before.set(node, [...(before.get(node) ?? []), call]);
      }
      last.set(call.id, { node, call, depth });
    });
  }
  const after = new Map<Node, ModuleCall[]>();
  for (const { node, call } of [...last.values()].sort((a, b) => b.depth - a.depth)) {
    if (computed(call.output) && computed(call.inputs)) after.set(node, [...(after.get(node) ?? []), call]);
  }
  return { before, after };
}
