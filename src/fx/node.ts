/**
 * `Node`: one operation in a `Graph`, as in torch.fx.
 *
 * - `placeholder`: an input of the traced function; `target` is the parameter name.
 * - `get_attr`: a parameter, buffer or constant tensor; `target` is its dotted path in the module.
 * - `call_function` / `call_method`: an op from the registry (`target` is its PyTorch name) or a
 *   wrapped user function (`target` is the function); `call_method` means it was written as
 *   `x.op(...)`, which only changes how the graph prints.
 * - `call_module`: a leaf module; `target` is its dotted path.
 * - `output`: the traced function's return value, in `args[0]`.
 */
import { getOp, hasOp } from '../ops/registry.js';

export type Opcode = 'placeholder' | 'get_attr' | 'call_function' | 'call_method' | 'call_module' | 'output';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- wrapped user functions have any signature
export type Target = string | Function;

/** What a node's arguments may hold: other nodes, constants, and arrays or plain objects of them. */
export type Argument = Node | number | string | boolean | bigint | null | undefined | object | readonly Argument[];

export class Node {
  readonly graph: object;
  name: string;
  readonly op: Opcode;
  readonly target: Target;
  #args: readonly Argument[] = [];
  /** Nodes that take this node as an argument, in the order they were added. */
  readonly users = new Set<Node>();
  /** Free-form data attached by passes (`meta.shape`, `meta.dtype` from shape propagation). */
  readonly meta: Record<string, unknown> = {};
  /** Neighbours in the graph's execution order (a doubly linked list, as in torch.fx). */
  prev: Node | undefined;
  next: Node | undefined;
  erased = false;

  constructor(graph: object, name: string, op: Opcode, target: Target, args: readonly Argument[]) {
    this.graph = graph;
    this.name = name;
    this.op = op;
    this.target = target;
    this.args = args;
  }

  get args(): readonly Argument[] {
    return this.#args;
  }

  /** Replaces the arguments, keeping every input's `users` set in step. */
  set args(args: readonly Argument[]) {
    for (const input of this.allInputNodes()) input.users.delete(this);
    this.#args = args;
    for (const input of this.allInputNodes()) input.users.add(this);
  }

  /**
   * Whether dead-code elimination must keep this node although nothing uses it: placeholders,
   * the output, and calls of ops made for their effect (torch.fx's `Node.is_impure`).
   */
  isImpure(): boolean {
    if (this.op === 'placeholder' || this.op === 'output') return true;
    const target = this.target;
    return this.op === 'call_function' && typeof target === 'string' && hasOp(target) && getOp(target).impure === true;
  }

  /** Every node this one reads, once each, in argument order. */
  allInputNodes(): Node[] {
    const found = new Set<Node>();
    mapArgument(this.#args, (n) => {
      found.add(n);
      return n;
    });
    return [...found];
  }

  /** Makes every user of this node read `replacement` instead; returns the users changed. */
  replaceAllUsesWith(replacement: Node): Node[] {
    const users = [...this.users];
    for (const user of users) user.args = mapArgument(user.args, (n) => (n === this ? replacement : n)) as Argument[];
    return users;
  }

  /** `%name = op[target](args)`, the torch.fx form, for printouts and error messages. */
  format(): string {
    const target = typeof this.target === 'function' ? this.target.name || '<function>' : this.target;
    return `%${this.name} : ${this.op}[target=${target}](args = ${formatArgument(this.#args)})`;
  }

  toString(): string {
    return this.name;
  }
}

/** Whether `x` is a plain object literal (options objects, dict outputs), not a class instance. */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Applies `fn` to every node inside an argument structure, rebuilding arrays and plain objects. */
export function mapArgument(arg: Argument, fn: (n: Node) => Argument): Argument {
  if (arg instanceof Node) return fn(arg);
  if (Array.isArray(arg)) return arg.map((a: Argument) => mapArgument(a, fn));
  if (isPlainObject(arg)) {
    const out: Record<string, Argument> = {};
    for (const key of Object.keys(arg)) {
      Object.defineProperty(out, key, {
        value: mapArgument(arg[key] as Argument, fn),
        enumerable: true,
        writable: true,
      });
    }
    return out;
  }
  return arg;
}

/** The nodes an argument refers to, in order (repeats included). */
export function nodesIn(arg: Argument): Node[] {
  const found: Node[] = [];
  mapArgument(arg, (n) => {
    found.push(n);
    return n;
  });
  return found;
}

export function formatArgument(arg: Argument): string {
  if (arg instanceof Node) return `%${arg.name}`;
  if (Array.isArray(arg)) return `(${arg.map((a: Argument) => formatArgument(a)).join(', ')})`;
  if (isPlainObject(arg)) {
    return `{${Object.entries(arg)
      .map(([k, v]) => `${JSON.stringify(k)}: ${formatArgument(v as Argument)}`)
      .join(', ')}}`;
  }
  if (typeof arg === 'string') return JSON.stringify(arg);
  if (typeof arg === 'object' && arg !== null) return String(arg);
  return String(arg);
}
