/**
 * The model's nodes as a collapsible module hierarchy (Netron's left panel for featurefx's names):
 * a row for every module path (each '.'-prefix of a node name) and every node, with its kind and
 * shape, and a search box that resolves a name as `createFeatureExtractor` resolves a return node.
 */
import { lastNodeUnder, missingNodeError } from '../src/featureExtraction/return-nodes.js';
import type { OnnxNamedNode } from '../src/onnx/node-names.js';

/** What a row stands for: the node a click returns (a module returns its last node). */
export interface Resolved {
  /** The row's own name (a module path or a node name), as clicked or searched. */
  query: string;
  node: OnnxNamedNode;
}

interface TreeEntry {
  path: string;
  /** The node of that exact name, when there is one (a module listed as a node has both). */
  node?: OnnxNamedNode;
  children: Map<string, TreeEntry>;
}

export class NodeTree {
  private readonly names: string[];
  private readonly rows = new Map<string, HTMLElement>();
  /** The node each row returns (resolved once: the tree's names do not change). */
  private readonly returns = new Map<string, OnnxNamedNode>();
  /** Shapes learnt by computing nodes whose file did not declare them. */
  private readonly computed = new Map<string, readonly number[]>();

  constructor(
    private readonly container: HTMLElement,
    private readonly nodes: readonly OnnxNamedNode[],
    private readonly modelName: string,
    private readonly onToggle: (resolved: Resolved) => void,
  ) {
    this.names = nodes.map((n) => n.name);
    container.replaceChildren(...[...hierarchy(nodes).children.values()].map((e) => this.renderEntry(e, 0)));
  }

  /** The node a full or truncated name returns, or a FeatureExtractionError naming the closest names. */
  resolve(query: string): Resolved {
    const index = lastNodeUnder(this.names, query);
    if (index < 0) {
      throw missingNodeError(
        query,
        this.names,
        `the model ${this.modelName}`,
        'Browse the tree on the left for the names.',
      );
    }
    return { query, node: this.nodes[index]! };
  }

  /** Every module path (rows with children), in tree order, with the node each returns. */
  modules(): Resolved[] {
    return [...this.rows.keys()]
      .filter((path) => this.rows.get(path)!.classList.contains('has-children'))
      .map((path) => ({ query: path, node: this.returns.get(path)! }));
  }

  /** The node's shape: as the file declares it, or as computed. */
  shapeOf(node: OnnxNamedNode): readonly (number | string)[] | undefined {
    return this.computed.get(node.name) ?? node.shape;
  }

  /** Shows a computed shape on every row that returns `node`, where the file declared none. */
  setShape(node: OnnxNamedNode, dims: readonly number[]): void {
    if (this.shapeOf(node) !== undefined) return;
    this.computed.set(node.name, dims);
    for (const [path, row] of this.rows) {
      if (this.returns.get(path) === node) row.querySelector('.shape')!.textContent = formatShape(dims);
    }
  }

  setSelected(query: string, selected: boolean): void {
    this.rows.get(query)?.classList.toggle('selected', selected);
  }

  /** Resolves the search text, opens the tree down to the node, marks it `.found` and scrolls to it. */
  search(query: string): Resolved {
    const resolved = this.resolve(query);
    for (const row of this.container.querySelectorAll('.found')) row.classList.remove('found');
    const row = this.rows.get(resolved.node.name)!;
    for (
      let parent = row.parentElement?.closest('.tree-item');
      parent;
      parent = parent.parentElement?.closest('.tree-item')
    ) {
      parent.classList.remove('collapsed');
    }
    row.classList.add('found');
    row.scrollIntoView({ block: 'center' });
    return resolved;
  }

  private renderEntry(entry: TreeEntry, depth: number): HTMLElement {
    const item = document.createElement('div');
    item.className = 'tree-item';
    item.setAttribute('role', 'treeitem');
    // Deep levels start closed so that a large model opens as its top-level modules.
    if (entry.children.size > 0 && depth > 0) item.classList.add('collapsed');

    const row = document.createElement('div');
    row.className = 'tree-row';
    row.dataset['node'] = entry.path;
    row.style.setProperty('--depth', String(depth));
    const caret = document.createElement('button');
    caret.className = 'caret';
    caret.type = 'button';
    caret.tabIndex = -1;
    if (entry.children.size > 0) {
      row.classList.add('has-children');
      caret.setAttribute('aria-label', `expand or collapse ${entry.path}`);
      caret.addEventListener('click', () => item.classList.toggle('collapsed'));
    } else {
      caret.disabled = true;
    }
    const label = document.createElement('button');
    label.className = 'label';
    label.type = 'button';
    label.textContent = entry.path.slice(entry.path.lastIndexOf('.') + 1);
    label.title = entry.path;
    const returned = this.resolve(entry.path).node;
    label.addEventListener('click', () => this.onToggle({ query: entry.path, node: returned }));
    const kind = document.createElement('span');
    kind.className = 'kind';
    kind.textContent = entry.node?.kind ?? 'module';
    const shape = document.createElement('span');
    shape.className = 'shape';
    const dims = this.shapeOf(returned);
    if (dims !== undefined) shape.textContent = formatShape(dims);
    row.append(caret, label, kind, shape);
    this.rows.set(entry.path, row);
    this.returns.set(entry.path, returned);
    item.append(row);

    if (entry.children.size > 0) {
      const group = document.createElement('div');
      group.className = 'tree-group';
      group.setAttribute('role', 'group');
      group.append(...[...entry.children.values()].map((child) => this.renderEntry(child, depth + 1)));
      item.append(group);
    }
    return item;
  }
}

/** The module hierarchy of the node names: an entry per '.'-prefix, children in the order nodes first reach them. */
function hierarchy(nodes: readonly OnnxNamedNode[]): TreeEntry {
  const root: TreeEntry = { path: '', children: new Map() };
  for (const node of nodes) {
    let entry = root;
    for (const atom of node.name.split('.')) {
      const path = entry === root ? atom : `${entry.path}.${atom}`;
      let child = entry.children.get(path);
      if (child === undefined) entry.children.set(path, (child = { path, children: new Map() }));
      entry = child;
    }
    entry.node = node;
  }
  return root;
}

export function formatShape(dims: readonly (number | string)[]): string {
  return `[${dims.join(', ')}]`;
}
