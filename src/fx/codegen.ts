/**
 * Code generation: a graph as the source of a readable JavaScript function, one statement per
 * node, as torch.fx's `python_code`. Safety: node names are identifiers made by the graph's
 * namespace, every string the user controls (module paths, output keys) appears only as a
 * JSON-escaped string literal, and values that are not plain literals are passed in an array
 * rather than written out. Nothing a user passes can become code.
 */
import { type Argument, Node, isPlainObject, nodesIn } from './node.js';
import type { Graph } from './graph.js';
import { hookSites } from './module-call.js';

export interface GeneratedCode {
  /** The function's source, as shown by `GraphModule.code`. */
  source: string;
  /** Values the code refers to as `__consts[i]` (tensors, wrapped functions, index objects). */
  constants: unknown[];
}

function numberLiteral(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return Object.is(v, -0) ? '-0' : String(v);
}

class Emitter {
  readonly constants: unknown[] = [];

  constant(value: unknown): string {
    this.constants.push(value);
    return `__consts[${this.constants.length - 1}]`;
  }

  literal(arg: Argument): string {
    if (arg instanceof Node) return arg.name;
    if (typeof arg === 'number') return numberLiteral(arg);
    if (typeof arg === 'bigint') return `${arg}n`;
    if (typeof arg === 'string') return JSON.stringify(arg);
    if (typeof arg === 'boolean' || arg === null || arg === undefined) return String(arg);
    if (Array.isArray(arg)) return `[${arg.map((a: Argument) => this.literal(a)).join(', ')}]`;
    if (isPlainObject(arg)) {
      const entries = Object.keys(arg).map((k) => {
        // A quoted "__proto__" key in a literal would set the prototype; a computed key does not.
        const key = k === '__proto__' ? `[${JSON.stringify(k)}]` : JSON.stringify(k);
        return `${key}: ${this.literal(arg[k] as Argument)}`;
      });
      return `{ ${entries.join(', ')} }`;
    }
    return this.constant(arg);
  }
}

/** A node's statements (its pre-hooks, itself, its forward hooks) and the values they read. */
interface Statements {
  lines: string[];
  reads: Node[];
}

/**
 * The source of `forward(...)` for `graph`, run by `GraphModule` with its environment. Each value
 * is released after the statement that reads it last (`x = undefined`, torch.fx's `x = None`): a
 * local holds its tensor until the function returns otherwise, and an extractor's peak memory
 * would be the sum of all its activations instead of those alive at once.
 */
export function generateCode(graph: Graph): GeneratedCode {
  const emitter = new Emitter();
  const params: string[] = [];
  const nodes = [...graph.nodes()];
  // Hooks of modules traced through run where their inlined code starts and ends; see module-call.ts.
  const hooks = hookSites(nodes);
  const statements = nodes.map((node): Statements => {
    const lines: string[] = [];
    const reads = [...node.allInputNodes()];
    for (const call of hooks.before.get(node) ?? []) {
      lines.push(`__self.runPreHooksOf(${JSON.stringify(call.path)}, ${emitter.literal(call.inputs)});`);
      reads.push(...nodesIn(call.inputs));
    }
    const args = node.args.map((a) => emitter.literal(a)).join(', ');
    switch (node.op) {
      case 'placeholder':
        params.push(node.name);
        break;
      case 'get_attr':
        lines.push(`let ${node.name} = __self.getAttr(${JSON.stringify(node.target)});`);
        break;
      case 'call_module':
        lines.push(`let ${node.name} = __self.getSubmodule(${JSON.stringify(node.target)}).call(${args});`);
        break;
      case 'call_function':
      case 'call_method': {
        const callee =
          typeof node.target === 'function' ? emitter.constant(node.target) : `__ops[${JSON.stringify(node.target)}]`;
        lines.push(`let ${node.name} = ${callee}(${args});`);
        break;
      }
      case 'output':
        lines.push(`return ${emitter.literal(node.args[0])};`);
        break;
    }
    for (const call of hooks.after.get(node) ?? []) {
      const inputs = emitter.literal(call.inputs);
      lines.push(`__self.runHooksOf(${JSON.stringify(call.path)}, ${inputs}, ${emitter.literal(call.output)});`);
      reads.push(...nodesIn(call.inputs), ...nodesIn(call.output!));
    }
    return { lines, reads };
  });
  const lastRead = new Map<Node, number>();
  statements.forEach(({ reads }, i) => reads.forEach((n) => lastRead.set(n, i)));
  // A value nothing reads is released where it is made; the output's values are returned instead.
  const releasedAfter = statements.map((): string[] => []);
  nodes.forEach((node, i) => {
    if (node.op !== 'output') releasedAfter[lastRead.get(node) ?? i]!.push(node.name);
  });
  const body = statements.flatMap(({ lines }, i) => {
    const released = nodes[i]!.op === 'output' ? [] : releasedAfter[i]!;
    return released.length === 0 ? lines : [...lines, `${released.join(' = ')} = undefined;`];
  });
  const source = `function forward(${params.join(', ')}) {\n${body.map((l) => `  ${l}`).join('\n')}\n}`;
  return { source, constants: emitter.constants };
}
