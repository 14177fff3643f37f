/**
 * `Graph`: the nodes of a traced function in execution order, as in torch.fx. Plain data: passes
 * edit it, `lint()` checks it, `GraphModule` turns it into code. Every operation here is O(1) or
 * O(nodes), so a graph of tens of thousands of nodes stays cheap to build, prune and print.
 */
import { type Argument, Node, type Opcode, type Target } from './node.js';

const RESERVED_WORDS = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'yield let static implements interface package private protected public await arguments eval undefined NaN ' +
    'Infinity globalThis Object Array Function __self __ops __fns __consts'
  ).split(' '),
);

/** Unique JavaScript identifiers for node names, torch.fx style: `add`, `add_1`, `add_2`. */
class Namespace {
  private readonly used = new Set<string>();
  private readonly nextSuffix = new Map<string, number>();

  create(candidate: string): string {
    let base = candidate.replace(/[^A-Za-z0-9_$]/g, '_');
    if (base === '' || /^[0-9]/.test(base)) base = `_${base}`;
    const match = /^(.*)_(\d+)$/.exec(base);
    if (match !== null) base = match[1]!;
    let name = match !== null ? `${base}_${match[2]}` : base;
    let n = this.nextSuffix.get(base) ?? 0;
    while (this.used.has(name) || RESERVED_WORDS.has(name)) {
      n += 1;
      name = `${base}_${n}`;
    }
    this.nextSuffix.set(base, n);
    this.used.add(name);
    return name;
  }
}

export class Graph {
  /** Sentinel of the circular node list: `root.next` is the first node, `root.prev` the last. */
  private readonly root: Node;
  private readonly namespace = new Namespace();
  private insertPoint: { node: Node; after: boolean } | undefined;
  private count = 0;

  constructor() {
    this.root = new Node(this, '__root__', 'output', '', []);
    this.root.prev = this.root;
    this.root.next = this.root;
  }

  /** Nodes in execution order. Safe to erase the current node while iterating. */
  *nodes(): Generator<Node> {
    for (let n = this.root.next!; n !== this.root;) {
      const next = n.next!;
      if (!n.erased) yield n;
      n = next;
    }
  }

  *reversedNodes(): Generator<Node> {
    for (let n = this.root.prev!; n !== this.root;) {
      const prev = n.prev!;
      if (!n.erased) yield n;
      n = prev;
    }
  }

  get size(): number {
    return this.count;
  }

  /** Creates a node at the insertion point (the end of the graph by default). */
  createNode(op: Opcode, target: Target, args: readonly Argument[], name?: string): Node {
    const candidate = name ?? (typeof target === 'string' ? target : target.name || 'fn');
    const node = new Node(this, this.namespace.create(candidate), op, target, args);
    const anchor = this.insertPoint ?? { node: this.root.prev!, after: true };
    this.link(node, anchor.after ? anchor.node : anchor.node.prev!);
    if (this.insertPoint?.after === true) this.insertPoint = { node, after: true };
    this.count += 1;
    return node;
  }

  private link(node: Node, after: Node): void {
    node.prev = after;
    node.next = after.next;
    after.next!.prev = node;
    after.next = node;
  }

  placeholder(name: string): Node {
    return this.createNode('placeholder', name, [], name);
  }

  getAttr(path: string): Node {
    return this.createNode('get_attr', path, []);
  }

  callFunction(target: Target, args: readonly Argument[]): Node {
    return this.createNode('call_function', target, args);
  }

  callMethod(method: string, args: readonly Argument[]): Node {
    return this.createNode('call_method', method, args);
  }

  callModule(path: string, args: readonly Argument[]): Node {
    return this.createNode('call_module', path, args);
  }

  output(result: Argument): Node {
    return this.createNode('output', 'output', [result]);
  }

  /** Runs `body` with new nodes inserted right after (or before) `node`, as torch.fx's context managers. */
  insertingAfter<T>(node: Node, body: () => T): T {
    return this.withInsertPoint({ node, after: true }, body);
  }

  insertingBefore<T>(node: Node, body: () => T): T {
    return this.withInsertPoint({ node, after: false }, body);
  }

  private withInsertPoint<T>(point: { node: Node; after: boolean }, body: () => T): T {
    const previous = this.insertPoint;
    this.insertPoint = point;
    try {
      return body();
    } finally {
      this.insertPoint = previous;
    }
  }

  /** Removes a node that nothing uses any more. */
  eraseNode(node: Node): void {
    if (node.users.size > 0) {
      const users = [...node.users].map((u) => u.name).join(', ');
      throw new Error(`cannot erase node '${node.name}': it is still used by ${users}`);
    }
    node.args = [];
    node.prev!.next = node.next;
    node.next!.prev = node.prev;
    node.erased = true;
    this.count -= 1;
  }

  /** The output node, if the graph has one. */
  findOutput(): Node | undefined {
    for (const n of this.reversedNodes()) if (n.op === 'output') return n;
    return undefined;
  }

  /**
   * Removes nodes whose results nobody uses (impure ones stay: placeholders, the output, checks), in one backward pass:
   * erasing a node can only free nodes before it. Returns whether anything was removed.
   */
  eliminateDeadCode(): boolean {
    let changed = false;
    for (const node of this.reversedNodes()) {
      if (!node.isImpure() && node.users.size === 0) {
        this.eraseNode(node);
        changed = true;
      }
    }
    return changed;
  }

  /** Checks the invariants: unique names, arguments defined before use, users in step, one output last. */
  lint(): void {
    const seen = new Set<Node>();
    const names = new Set<string>();
    let outputs = 0;
    for (const node of this.nodes()) {
      if (names.has(node.name)) throw new Error(`graph lint: duplicate node name '${node.name}'`);
      names.add(node.name);
      for (const input of node.allInputNodes()) {
        if (!seen.has(input)) throw new Error(`graph lint: '${node.name}' uses '${input.name}' before it is defined`);
        if (!input.users.has(node)) throw new Error(`graph lint: '${input.name}' does not list user '${node.name}'`);
      }
      for (const user of node.users) {
        if (user.erased || !user.allInputNodes().includes(node)) {
          throw new Error(`graph lint: '${node.name}' lists '${user.name}' as a user, which does not use it`);
        }
      }
      if (node.op === 'output') outputs += 1;
      else if (outputs > 0) throw new Error(`graph lint: node '${node.name}' comes after the output`);
      seen.add(node);
    }
    if (outputs > 1) throw new Error('graph lint: more than one output node');
  }

  /** The graph as a table: one line per node, in the style of torch.fx's `print_tabular`. */
  toString(): string {
    const rows = [...this.nodes()].map((n) => [
      n.op,
      n.name,
      typeof n.target === 'function' ? n.target.name || '<function>' : n.target,
      n
        .format()
        .replace(/^.*\(args = /, '')
        .replace(/\)$/, ''),
    ]);
    const header = ['opcode', 'name', 'target', 'args'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]): string =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd();
    return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
  }
}
