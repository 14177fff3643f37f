/**
 * Readable, featurefx-style names for the nodes of an ONNX file.
 *
 * torch.onnx (1.13+) names each node by the module calls around it and its op: `/layer1/layer1.0/
 * conv1/Conv`, `/layer1/layer1.0/Add_1`. Each scope segment is the module's path from its last
 * non-numeric atom (`layer1.0`, `conv1`), so the module path is the segments joined by their overlap:
 * `layer1.0.conv1`. From that, nodes are named as torchvision's NodePathTracer names them:
 *
 * - a node alone in a module without submodules (a leaf such as Conv2d, ReLU, LayerNorm) is named by
 *   the module's path (`layer1.0.conv1`); where a leaf exports as several nodes (Linear on a sequence:
 *   MatMul then Add; MultiheadAttention), its last node takes the module's path and the others are
 *   named as functions within it;
 * - any other node by its module's path, a `.`, and the function torch.fx records for its op
 *   (`Add` -> `layer1.0.add`; at the top level just `flatten`);
 * - repeats within one name get `_1`, `_2`, ... as featurefx's counters do (node-path-tracer.ts);
 * - a module with submodules is also listed, after its last node, by its path: torchvision keeps
 *   its own blocks whole (`stem`, a Conv2dNormActivation, where the file has `stem.0` and `stem.2`),
 *   and any module's output is what a truncated name (`layer1`) returns.
 *
 * Files written by featurefx (src/fx/onnx-export.ts) name each featurefx node's output value by the
 * node, in the node's own scope ('/layer1/layer1.0/add/Add' making 'layer1.0.add'): those names are
 * taken as they are, one per featurefx node, and the other nodes (parts of one featurefx node, or
 * modules) are not listed, so that the list is the exported model's own.
 *
 * Nodes without a scope (files from other exporters) keep their ONNX names, or are named by their op
 * (`relu`, `relu_1`) when they have none; a name already taken gets a counter. Nodes that compute
 * from weights and constants only (Constant; the Identity copies torch.onnx makes of shared weights)
 * are attributes and literals, not nodes torch.fx would record, and are not listed.
 */
import type { ModelProto, NodeProto, TypeProto, ValueInfoProto } from './model-proto.js';

export interface OnnxNamedNode {
  /** The featurefx-style name, e.g. 'layer1.0.relu_1'. */
  name: string;
  /** The ONNX op type of the node that makes the value ('Input' for a graph input). */
  kind: string;
  /** The ONNX value name holding the node's (first) output. */
  output: string;
  /** The value's shape where the file declares it: a number per known dimension, a string per named one, else '?'. */
  shape?: (number | string)[];
}

/** The function torch.fx records for an ONNX op, where its name differs from the op's in snake case. */
const FUNCTION_OF_OP: Record<string, string> = {
  Concat: 'cat',
  Div: 'truediv',
  Gather: 'getitem',
  GlobalAveragePool: 'adaptive_avg_pool2d',
  GlobalMaxPool: 'adaptive_max_pool2d',
  LayerNormalization: 'layer_norm',
  MatMul: 'matmul',
  ReduceMean: 'mean',
  Shape: 'size',
  Transpose: 'permute',
};

/**
 * One entry per node of `model`'s graph (graph inputs first, then nodes in topological order), named
 * as featurefx names the nodes of the model the file was exported from; see the file comment. For
 * torchvision's resnet18 exported by torch.onnx: 'x', 'conv1', 'relu', 'maxpool', 'layer1.0.conv1',
 * 'layer1.0.relu', 'layer1.0.conv2', 'layer1.0.add', 'layer1.0.relu_1', 'layer1.0', ...
 */
export function nameOnnxNodes(model: ModelProto): OnnxNamedNode[] {
  const graph = model.graph;
  if (graph === undefined) return [];
  const shapes = declaredShapes([...graph.input, ...graph.valueInfo, ...graph.output]);
  const initializers = new Set(graph.initializer.map((t) => t.name));
  const counters = new NameCounters();
  const named: OnnxNamedNode[] = [];
  for (const input of graph.input) {
    if (input.name === undefined || initializers.has(input.name)) continue;
    named.push(entry(counters.next(input.name), 'Input', input.name, shapes));
  }
  const ordered = topologicalOrder(graph.node);
  if (ordered.some(isNamedByFeaturefx)) {
    for (const node of ordered.filter(isNamedByFeaturefx))
      named.push(entry(node.output[0]!, node.opType ?? '', node.output[0]!, shapes));
    return named;
  }
  const nodes = withoutConstants(ordered, initializers);
  const paths = nodes.map((n) => scopePath(n.name));
  const parents = parentPaths(paths);
  const leafOwners = lastNodeOfLeafScopes(paths, parents);
  const moduleEnds = lastNodeOfModules(paths, parents);
  nodes.forEach((node, i) => {
    const output = node.output[0] ?? '';
    const kind = node.opType ?? '';
    const path = paths[i];
    const name =
      path === undefined && node.name !== undefined && node.name !== ''
        ? counters.unique(node.name)
        : counters.next(baseName(node, path, leafOwners.has(i)));
    named.push(entry(name, kind, output, shapes));
    for (const module of moduleEnds.get(i) ?? []) named.push(entry(counters.unique(module), kind, output, shapes));
  });
  return named;
}

/**
 * Whether featurefx's export wrote `node` as the last node of a featurefx node: its output is named
 * by the featurefx node, which is also its scope ('/layer1/layer1.0/add/Add' making 'layer1.0.add').
 */
function isNamedByFeaturefx(node: NodeProto): boolean {
  const output = node.output[0];
  return output !== undefined && output !== '' && output === scopePath(node.name);
}

/** The name of a scoped or unnamed node before counting repeats. */
function baseName(node: NodeProto, path: string | undefined, ownsLeaf: boolean): string {
  const op = node.opType ?? '';
  if (path === undefined) return snakeCase(op);
  if (ownsLeaf) return path;
  const fn = FUNCTION_OF_OP[op] ?? snakeCase(op);
  return path === '' ? fn : `${path}.${fn}`;
}

/**
 * The module path of a torch.onnx scoped node name (`/layer1/layer1.0/conv1/Conv` -> 'layer1.0.conv1',
 * `/Flatten` -> ''), or undefined for a name without scopes.
 */
export function scopePath(nodeName: string | undefined): string | undefined {
  if (nodeName === undefined || !nodeName.startsWith('/')) return undefined;
  const segments = nodeName.split('/').slice(1, -1);
  const atoms: string[] = [];
  for (const segment of segments) {
    const parts = segment.split('.');
    // A segment repeats the tail of its parent's path when the child's own name is numeric
    // (`layer1` then `layer1.0`): only the atoms past that overlap are new.
    let overlap = parts.length - 1;
    while (overlap > 0 && !endsWith(atoms, parts.slice(0, overlap))) overlap--;
    atoms.push(...parts.slice(overlap));
  }
  return atoms.join('.');
}

function endsWith(atoms: readonly string[], tail: readonly string[]): boolean {
  if (tail.length > atoms.length) return false;
  return tail.every((t, i) => atoms[atoms.length - tail.length + i] === t);
}

/** Every module path that has submodules holding nodes. */
function parentPaths(paths: readonly (string | undefined)[]): Set<string> {
  const parents = new Set<string>();
  for (const path of paths) {
    if (path === undefined || path === '') continue;
    const atoms = path.split('.');
    for (let n = 1; n < atoms.length; n++) parents.add(atoms.slice(0, n).join('.'));
  }
  return parents;
}

/**
 * The indices of nodes that are the last node of a module without submodules: named by the module's
 * path, as torch.fx names the call of a leaf module.
 */
function lastNodeOfLeafScopes(paths: readonly (string | undefined)[], parents: ReadonlySet<string>): Set<number> {
  const last = new Map<string, number>();
  paths.forEach((path, i) => {
    if (path !== undefined && path !== '' && !parents.has(path)) last.set(path, i);
  });
  return new Set(last.values());
}

/**
 * For modules with submodules, the node after which each one's output is listed, under the module's
 * path: its last node. torchvision's own modules that feature extraction keeps whole
 * (Conv2dNormActivation, SqueezeExcitation, MLP, ...) are such modules in the file, and any module's
 * output is what a truncated name (`layer1`) returns.
 */
function lastNodeOfModules(
  paths: readonly (string | undefined)[],
  parents: ReadonlySet<string>,
): Map<number, string[]> {
  const last = new Map<string, number>();
  paths.forEach((path, i) => {
    if (path === undefined || path === '') return;
    const atoms = path.split('.');
    for (let n = 1; n <= atoms.length; n++) {
      const module = atoms.slice(0, n).join('.');
      if (parents.has(module)) last.set(module, i);
    }
  });
  const byNode = new Map<number, string[]>();
  // Innermost first, so that a module comes before the modules that contain it.
  for (const [module, i] of [...last].sort((a, b) => b[0].length - a[0].length)) {
    byNode.set(i, [...(byNode.get(i) ?? []), module]);
  }
  return byNode;
}

/** The nodes that read, directly or through other nodes, something besides initializers and constants. */
function withoutConstants(nodes: readonly NodeProto[], initializers: ReadonlySet<string | undefined>): NodeProto[] {
  const constant = new Set(initializers);
  constant.add(''); // an omitted optional input
  return nodes.filter((node) => {
    if (!node.input.every((i) => constant.has(i))) return true;
    for (const o of node.output) constant.add(o);
    return false;
  });
}

/** featurefx's counters (node-path-tracer.ts): a trailing `_<n>` is dropped, then repeats are numbered per name. */
class NameCounters {
  private readonly last = new Map<string, number>();
  private readonly taken = new Set<string>();

  next(name: string): string {
    const base = /^.+_[0-9]+$/s.test(name) ? name.slice(0, name.lastIndexOf('_')) : name;
    let suffix = this.last.get(base);
    let counted: string;
    // Skips names taken otherwise (an ONNX name kept as it is, e.g. 'conv_1').
    do {
      suffix = suffix === undefined ? 0 : suffix + 1;
      counted = suffix === 0 ? base : `${base}_${suffix}`;
    } while (this.taken.has(counted));
    this.last.set(base, suffix);
    this.taken.add(counted);
    return counted;
  }

  /** `name` itself while it is free (an ONNX node name kept), else counted. */
  unique(name: string): string {
    if (this.taken.has(name)) return this.next(name);
    this.taken.add(name);
    return name;
  }
}

/** Nodes ordered so that each comes after the nodes making its inputs (file order where free). */
function topologicalOrder(nodes: readonly NodeProto[]): NodeProto[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.output.forEach((o) => producer.set(o, i)));
  const state = new Uint8Array(nodes.length); // 0 new, 1 in progress, 2 placed
  const order: NodeProto[] = [];
  // Iterative depth-first placement: a cycle (invalid ONNX) leaves its nodes in file order.
  for (let start = 0; start < nodes.length; start++) {
    if (state[start] !== 0) continue;
    const stack: [number, number][] = [[start, 0]];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const node = nodes[top[0]]!;
      if (top[1] < node.input.length) {
        const dep = producer.get(node.input[top[1]++]!);
        if (dep !== undefined && state[dep] === 0) {
          state[dep] = 1;
          stack.push([dep, 0]);
        }
        continue;
      }
      stack.pop();
      state[top[0]] = 2;
      order.push(node);
    }
  }
  return order;
}

function declaredShapes(values: readonly ValueInfoProto[]): Map<string, (number | string)[]> {
  const shapes = new Map<string, (number | string)[]>();
  for (const value of values) {
    const shape = shapeOf(value.type);
    if (value.name !== undefined && shape !== undefined) shapes.set(value.name, shape);
  }
  return shapes;
}

function shapeOf(type: TypeProto | undefined): (number | string)[] | undefined {
  const dims = type?.tensorType?.shape?.dim;
  return dims?.map((d) => d.dimValue ?? (d.dimParam !== undefined && d.dimParam !== '' ? d.dimParam : '?'));
}

function entry(name: string, kind: string, output: string, shapes: Map<string, (number | string)[]>): OnnxNamedNode {
  const shape = shapes.get(output);
  return shape === undefined ? { name, kind, output } : { name, kind, output, shape };
}

/** `GlobalAveragePool` -> 'global_average_pool'. */
function snakeCase(op: string): string {
  return op.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}
