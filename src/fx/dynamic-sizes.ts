/**
 * Which sizes a lowered graph leaves open. A graph is lowered for concrete input shapes: where the
 * model reads a size the graph computes it, and where an op's lowering needs one (a pooling window
 * derived from the input size, a JavaScript branch on a size inside a leaf) it becomes a constant.
 * Two shapes can therefore share one graph, and one ONNX Runtime session, exactly when lowering
 * writes the same graph for both: `graphKey` says when. This is exact (nothing is assumed about
 * the ops), where shape rules over symbols would have to be written for every op.
 */
import { createHash } from 'node:crypto';
import type { OnnxDim, OnnxGraph, OnnxNode } from '../runtime/onnx-model.js';

/** Attribute values as JSON: typed arrays (tensor attributes) as hex. */
function attributeJson(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * A digest of what a graph computes: its nodes and local functions, the names, types and sizes of its initializers and
 * the bytes of its constants (the model's parameters are the same tensors whatever the input
 * shape, so their bytes are not read), and its inputs' names and types. Declared input and output
 * sizes are left out: they are declarations, not computation.
 */
export function graphKey(graph: OnnxGraph): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(graph.nodes, attributeJson));
  hash.update(JSON.stringify(graph.functions ?? [], attributeJson));
  for (const init of graph.initializers) {
    hash.update(`${init.name}:${init.type}[${init.dims.join(',')}]`);
    // Constants made while lowering have internal names; their values can depend on sizes.
    if (init.name.startsWith('%')) hash.update(init.raw);
  }
  hash.update(JSON.stringify(graph.inputs.map((i) => [i.name, i.type])));
  return hash.digest('hex');
}

/**
 * The first node where two graphs differ, to name what ties a graph to a size: a node whose
 * attributes or inputs differ, or the first reader of a constant whose value does.
 */
export function firstDifference(a: OnnxGraph, b: OnnxGraph): OnnxNode | undefined {
  const json = (n: OnnxNode | undefined): string => JSON.stringify(n, attributeJson);
  const differs = a.nodes.findIndex((n, i) => json(n) !== json(b.nodes[i]));
  if (differs >= 0) return a.nodes[differs];
  // A function whose body differs: the node calling it.
  const bodies = new Map((b.functions ?? []).map((f) => [f.name, JSON.stringify(f, attributeJson)]));
  const changedFunction = (a.functions ?? []).find((f) => JSON.stringify(f, attributeJson) !== bodies.get(f.name));
  if (changedFunction !== undefined) return a.nodes.find((n) => n.opType === changedFunction.name);
  const constants = new Map(b.initializers.map((i) => [i.name, Buffer.from(i.raw)]));
  const changed = a.initializers.find((i) => !Buffer.from(i.raw).equals(constants.get(i.name) ?? Buffer.alloc(0)));
  return changed === undefined ? undefined : a.nodes.find((n) => n.inputs.includes(changed.name));
}

export interface DeclaredSizes {
  /** The size to declare for axis `axis` of model input `index` (a string makes it symbolic). */
  input: (index: number, axis: number, size: number) => OnnxDim;
  /** The same for outputs; `undefined` leaves the output's shape undeclared. */
  output: ((index: number, axis: number, size: number) => OnnxDim) | undefined;
  /**
   * The same for the values of `graph.valueInfo`, by name (`null` declares neither a size nor a
   * name); `undefined` drops the value_info, whose sizes are those of the shapes lowered for.
   */
  value?: ((name: string, axis: number, size: number) => OnnxDim | null) | undefined;
}

/**
 * `graph` with its first `inputCount` inputs, its outputs and its value_info declared by `sizes`.
 * Graph inputs past the model's own (parameters fed as inputs) keep their fixed shapes.
 */
export function declareSizes(graph: OnnxGraph, inputCount: number, sizes: DeclaredSizes): OnnxGraph {
  const declare = (
    shape: readonly (OnnxDim | null)[] | undefined,
    f: (axis: number, size: number) => OnnxDim | null,
  ): (OnnxDim | null)[] => (shape ?? []).map((d, axis) => (typeof d === 'number' ? f(axis, d) : d));
  const { valueInfo, ...rest } = graph;
  const value = sizes.value;
  const declared: OnnxGraph = {
    ...rest,
    inputs: graph.inputs.map((info, i) =>
      i < inputCount ? { ...info, shape: declare(info.shape, (axis, d) => sizes.input(i, axis, d)) } : info,
    ),
    outputs: graph.outputs.map((info, i) => {
      const output = sizes.output;
      if (output === undefined) return { name: info.name, type: info.type };
      return { ...info, shape: declare(info.shape, (axis, d) => output(i, axis, d)) };
    }),
  };
  if (valueInfo !== undefined && value !== undefined) {
    declared.valueInfo = valueInfo.map((info) => ({
      ...info,
      shape: declare(info.shape, (axis, d) => value(info.name, axis, d)),
    }));
  }
  return declared;
}

/** A graph lowered for some input sizes, and the size each dynamic dimension name (say 'height') had. */
export interface SizedGraph {
  graph: OnnxGraph;
  sizes: ReadonlyMap<string, number>;
}

/**
 * What to declare for each value_info size of `base` (for `DeclaredSizes.value`), from the same
 * graph lowered for other input sizes (`probes`; `undefined` for one that could not be): a size
 * the same in every lowering is fixed; one equal to the same dynamic input size in every lowering
 * is named by it ('batch', 'height'); any other (height / 2, computed from an input size) is left
 * undeclared, for ONNX Runtime's shape inference to work out. Two values declared with one name
 * are taken by ONNX Runtime to be of the same size, so a name is given only when the probes vary
 * each named input size on its own (a size following both would match neither alone).
 */
export function valueSizes(
  base: SizedGraph,
  probes: readonly (SizedGraph | undefined)[],
): (name: string, axis: number, size: number) => OnnxDim | null {
  const shapesOf = (graph: OnnxGraph): Map<string, readonly (OnnxDim | null)[]> =>
    new Map((graph.valueInfo ?? []).map((v) => [v.name, v.shape ?? []]));
  const lowered = probes.flatMap((p) => (p === undefined ? [] : [{ sizes: p.sizes, shapes: shapesOf(p.graph) }]));
  const allLowered = lowered.length === probes.length;
  return (name, axis, size) => {
    const probeSizes = lowered.map((p) => p.shapes.get(name)?.[axis]);
    if (probeSizes.every((d) => d === size)) return size;
    if (!allLowered) return null;
    const names = [...base.sizes].filter(
      ([dimName, baseSize]) => baseSize === size && lowered.every((p, i) => p.sizes.get(dimName) === probeSizes[i]),
    );
    return names.length === 1 ? names[0]![0] : null;
  };
}
