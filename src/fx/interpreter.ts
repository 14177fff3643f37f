/**
 * `Interpreter`: runs a graph node by node, one method per opcode, as torch.fx's. Passes that
 * compute something per node (shape propagation, say) subclass it and override one method.
 */
import type { Module } from '../nn/module.js';
import { callOp } from '../ops/dispatch.js';
import { getOp } from '../ops/registry.js';
import { resolvePath } from './graph-module.js';
import type { Graph } from './graph.js';
import { type Argument, type Node, type Target, mapArgument } from './node.js';

/** An error raised while running a node, naming it as torch.fx does ("While executing %node"). */
export class InterpreterError extends Error {
  override name = 'InterpreterError';
  constructor(
    readonly node: Node,
    cause: unknown,
  ) {
    super(`While executing ${node.format()}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export class Interpreter {
  protected readonly env = new Map<Node, unknown>();
  private inputs: unknown[] = [];

  constructor(
    readonly module: Module,
    readonly graph: Graph,
  ) {}

  /** Runs the graph on `args` and returns what its output node returns. */
  run(...args: unknown[]): unknown {
    this.inputs = [...args];
    const nodes = [...this.graph.nodes()];
    const output = nodes.find((n) => n.op === 'output');
    const values = this.runNodes(nodes, new Map());
    return output === undefined ? undefined : values.get(output);
  }

  /**
   * Runs `nodes` (some of the graph's, in order), given the values of the nodes they read that are
   * not among them, and returns the value of each. Compiled modules run the parts of a graph that
   * ONNX cannot hold this way, between compiled segments.
   */
  runNodes(nodes: readonly Node[], known: ReadonlyMap<Node, unknown>): Map<Node, unknown> {
    this.env.clear();
    for (const [node, value] of known) this.env.set(node, value);
    const values = new Map<Node, unknown>();
    try {
      for (const node of nodes) {
        let value: unknown;
        try {
          value = this.runNode(node);
        } catch (e) {
          throw e instanceof InterpreterError ? e : new InterpreterError(node, e);
        }
        this.env.set(node, value);
        values.set(node, value);
      }
    } finally {
      this.env.clear();
    }
    return values;
  }

  /** Fetches the node's arguments from the environment and dispatches on its opcode. */
  runNode(node: Node): unknown {
    const args = node.args.map((a) => this.fetchArg(a)) as unknown[];
    switch (node.op) {
      case 'placeholder':
        return this.placeholder(node.target as string);
      case 'get_attr':
        return this.getAttr(node.target as string);
      case 'call_function':
        return this.callFunction(node.target, args);
      case 'call_method':
        return this.callMethod(node.target as string, args);
      case 'call_module':
        return this.callModule(node.target as string, args);
      case 'output':
        return this.output(args[0]);
    }
  }

  protected fetchArg(arg: Argument): unknown {
    return mapArgument(arg, (n) => {
      if (!this.env.has(n)) throw new Error(`node '${n.name}' was used before it was computed`);
      return this.env.get(n) as Argument;
    });
  }

  placeholder(_name: string): unknown {
    if (this.inputs.length === 0) throw new RangeError("too few inputs for the graph's placeholders");
    return this.inputs.shift();
  }

  getAttr(path: string): unknown {
    return resolvePath(this.module, path);
  }

  callFunction(target: Target, args: unknown[]): unknown {
    if (typeof target === 'function') return (target as (...a: unknown[]) => unknown)(...args);
    return callOp(getOp(target), args, false);
  }

  callMethod(target: string, args: unknown[]): unknown {
    return callOp(getOp(target), args, true);
  }

  callModule(path: string, args: unknown[]): unknown {
    return (resolvePath(this.module, path) as Module).call(...args);
  }

  output(result: unknown): unknown {
    return result;
  }
}
