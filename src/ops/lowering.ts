/**
 * Lowering: how op definitions write ONNX. An op's `lower` receives a `LoweringContext` and its
 * arguments (tensors as `Value`s) and emits nodes. `GraphBuilder` implements the context and is
 * shared by eager kernels (a one-op graph) and export (a whole traced graph).
 */
import {
  LOCAL_DOMAIN,
  type AttributeValue,
  type OnnxFunction,
  type OnnxDim,
  type OnnxGraph,
  type OnnxInitializer,
  type OnnxNode,
  type OnnxValueInfo,
  ONNX_TYPE_CODE,
} from '../runtime/onnx-model.js';
import { type DType, type Storage, allocate, bytesPerElement } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';

/** A tensor inside a graph being written: its ONNX name and what is known of it. */
export interface Value {
  readonly kind: 'value';
  readonly name: string;
  readonly dtype: DType;
  /** Sizes; a string is a symbolic dimension whose size is only known when the model runs. */
  readonly shape: readonly OnnxDim[];
}

export function isValue(x: unknown): x is Value {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'value';
}

export interface LoweringContext {
  /** Emits one node with one output and returns the output's name. */
  emit(opType: string, inputs: readonly (string | Value)[], attributes?: Record<string, AttributeValue>): string;
  /** Emits one node with `outputs` outputs. */
  emitMulti(
    opType: string,
    inputs: readonly (string | Value)[],
    outputs: number,
    attributes?: Record<string, AttributeValue>,
  ): string[];
  /** A constant tensor (an initializer). A plain number makes a 0-D tensor. */
  constant(values: number | readonly number[], dtype: DType, dims?: Shape): string;
  /**
   * A 1-D int64 tensor from sizes that are either known numbers or int64 scalars computed in the
   * graph (a traced `x.shape[0]`): the latter are concatenated in.
   */
  int64s(values: readonly (number | Value)[]): string;
  /** `value` as an input of the given dtype, adding a Cast only when needed. */
  cast(value: Value, to: DType): string;
  /** An ONNX value's size along `axis` as a number, or an error naming `op` when it is symbolic. */
  staticDim(value: Value, axis: number, op: string): number;
}

/** The storage of a constant: what an initializer encodes, or what an eager kernel is fed. */
export function constantData(values: readonly number[], dtype: DType): Storage {
  const data = allocate(dtype, values.length);
  if (data instanceof BigInt64Array) values.forEach((v, i) => (data[i] = BigInt(v)));
  else values.forEach((v, i) => ((data as Float32Array)[i] = v));
  return data;
}

/** A constant's values as a list, and its dims: a plain number is 0-D, a list 1-D unless `dims` says. */
export function constantLayout(
  values: number | readonly number[],
  dims?: Shape,
): { list: readonly number[]; shape: Shape } {
  const list = typeof values === 'number' ? [values] : values;
  return { list, shape: dims ?? (typeof values === 'number' ? [] : [list.length]) };
}

function encodeConstant(values: readonly number[], dtype: DType): Uint8Array {
  return new Uint8Array(constantData(values, dtype).buffer, 0, values.length * bytesPerElement(dtype));
}

export class GraphBuilder implements LoweringContext {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  readonly inputs: OnnxValueInfo[] = [];
  readonly functions: OnnxFunction[] = [];
  /** Bodies of local functions being written, innermost last: emitted nodes go to the innermost. */
  private readonly bodies: OnnxNode[][] = [];
  private counter = 0;
  private readonly usedNodeNames = new Map<string, number>();
  /** Every value name of the main graph: inputs, initializers and node outputs. */
  private readonly valueNames = new Set<string>();
  /** The values `declareValue` was given, by name: the graph's value_info. */
  private readonly declaredValues = new Map<string, OnnxValueInfo>();
  /**
   * The featurefx node the nodes emitted next belong to (export sets it to the node's name, e.g.
   * 'layer1.0.add'); nodes are named in torch.onnx's scoped form (see `scopedName`).
   */
  scope = 'op';

  /**
   * Internal value names start with '%', so that they never meet user-chosen output names, then
   * name the featurefx node that made them.
   */
  private freshName(hint: string): string {
    return `%${this.scope}/${hint}_${this.counter++}`;
  }

  private nodeName(opType: string): string {
    const base = `${scopedName(this.scope)}/${opType}`;
    const n = this.usedNodeNames.get(base) ?? 0;
    this.usedNodeNames.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  addInput(name: string, dtype: DType, shape: readonly OnnxDim[]): Value {
    this.inputs.push({ name, type: dtype, shape: [...shape] });
    this.valueNames.add(name);
    return { kind: 'value', name, dtype, shape };
  }

  addInitializer(name: string, dtype: DType, dims: Shape, raw: Uint8Array): string {
    this.initializers.push({ name, type: dtype, dims: [...dims], raw });
    this.valueNames.add(name);
    return name;
  }

  emit(opType: string, inputs: readonly (string | Value)[], attributes?: Record<string, AttributeValue>): string {
    return this.emitMulti(opType, inputs, 1, attributes)[0]!;
  }

  emitMulti(
    opType: string,
    inputs: readonly (string | Value)[],
    outputs: number,
    attributes?: Record<string, AttributeValue>,
  ): string[] {
    const outNames = Array.from({ length: outputs }, () => this.freshName(opType.toLowerCase()));
    const node: OnnxNode = {
      opType,
      name: this.nodeName(opType),
      inputs: inputs.map((i) => (typeof i === 'string' ? i : i.name)),
      outputs: outNames,
    };
    if (attributes !== undefined) node.attributes = attributes;
    (this.bodies.at(-1) ?? this.nodes).push(node);
    if (this.bodies.length === 0) for (const o of outNames) this.valueNames.add(o);
    return outNames;
  }

  constant(values: number | readonly number[], dtype: DType, dims?: Shape): string {
    const { list, shape } = constantLayout(values, dims);
    return this.addConstant(dtype, shape, encodeConstant(list, dtype));
  }

  /** A constant tensor from its bytes, under a fresh name; a Constant node inside a function. */
  addConstant(dtype: DType, dims: Shape, raw: Uint8Array): string {
    if (this.bodies.length > 0) {
      return this.emit('Constant', [], { value: { tensor: { name: 'value', type: dtype, dims: [...dims], raw } } });
    }
    return this.addInitializer(this.freshName('const'), dtype, dims, raw);
  }

  /** Starts a local function's body: nodes emitted from now on go into it (see `endFunction`). */
  beginFunction(): void {
    this.bodies.push([]);
  }

  /** Drops the body being written (its code failed to lower). */
  abandonFunction(): void {
    this.bodies.pop();
  }

  /**
   * Ends the body being written as a local function called `name` (made unique), whose inputs are
   * the outer values its nodes read and whose outputs are `results`, and calls it from the
   * enclosing graph. Returns the call's output name for each result name.
   */
  endFunction(name: string, results: readonly string[]): Map<string, string> {
    const body = this.bodies.pop()!;
    const outer = this.bodies.at(-1) ?? this.nodes;
    const unique = [...new Set(results)];
    if (unique.length === 0) {
      // Code run for its effect only (a check): nothing to call, and nothing for ONNX to keep.
      outer.push(...body);
      return new Map();
    }
    const produced = new Set(body.flatMap((n) => n.outputs));
    // A result the body did not compute (an input returned as it is) leaves through an Identity.
    const inner = new Map(unique.map((r) => [r, produced.has(r) ? r : this.passThrough(body, r)]));
    const inputs = [...new Set(body.flatMap((n) => n.inputs))].filter((i) => i !== '' && !produced.has(i));
    let functionName = name;
    for (let k = 1; this.functions.some((f) => f.name === functionName); k++) functionName = `${name}_${k}`;
    this.functions.push({ name: functionName, inputs, outputs: [...inner.values()], nodes: body });
    const outputs = unique.map(() => this.freshName('call'));
    outer.push({ opType: functionName, domain: LOCAL_DOMAIN, name: this.nodeName(functionName), inputs, outputs });
    if (this.bodies.length === 0) for (const o of outputs) this.valueNames.add(o);
    return new Map(unique.map((r, i) => [r, outputs[i]!]));
  }

  private passThrough(body: OnnxNode[], value: string): string {
    const out = this.freshName('identity');
    body.push({ opType: 'Identity', name: this.nodeName('Identity'), inputs: [value], outputs: [out] });
    return out;
  }

  int64s(values: readonly (number | Value)[]): string {
    if (values.every((v): v is number => typeof v === 'number')) return this.constant(values, 'int64');
    const axes = this.constant([0], 'int64');
    const parts = values.map((v) =>
      typeof v === 'number' ? this.constant([v], 'int64') : this.emit('Unsqueeze', [this.cast(v, 'int64'), axes]),
    );
    return parts.length === 1 ? parts[0]! : this.emit('Concat', parts, { axis: 0 });
  }

  cast(value: Value, to: DType): string {
    if (value.dtype === to) return value.name;
    return this.emit('Cast', [value], { to: ONNX_TYPE_CODE[to] });
  }

  staticDim(value: Value, axis: number, op: string): number {
    const d = value.shape[axis];
    if (typeof d !== 'number') {
      throw new RangeError(`[${op}] needs a fixed size for dimension ${axis}, but it is dynamic ('${String(d)}')`);
    }
    return d;
  }

  /**
   * Makes `value` available under the exact name `name` (graph outputs named by the user's keys).
   * A value already so named is the output itself; a different value of that name (a node's own
   * name that is also another output's key) gives its name up.
   */
  rename(value: string, name: string): string {
    if (name.startsWith('%'))
      throw new RangeError(`output name '${name}' may not start with '%', which internal names use`);
    if (value === name) return name;
    if (this.valueNames.has(name)) {
      this.renameOutput(name, this.freshName('renamed'), 0);
      this.declaredValues.delete(name);
    }
    // Unscoped: the copy belongs to no node of the model.
    this.nodes.push({ opType: 'Identity', name: `${name}/Identity`, inputs: [value], outputs: [name] });
    this.valueNames.add(name);
    return name;
  }

  /**
   * Gives `value` the name `name` if a main-graph node emitted since node `since` made it and the
   * name is free (export names each featurefx node's output by the node: 'layer1.0.conv1'); returns
   * the value as named.
   */
  nameOutput(value: Value, name: string, since: number): Value {
    if (this.valueNames.has(name) || name.startsWith('%')) return value;
    return this.renameOutput(value.name, name, since) ? { ...value, name } : value;
  }

  /** Declares `value`'s type and shape in the graph's value_info (export does for each named tensor). */
  declareValue(value: Value): void {
    this.declaredValues.set(value.name, { name: value.name, type: value.dtype, shape: [...value.shape] });
  }

  /** Renames the output `from` of a main-graph node from `since` on, and its uses there. */
  private renameOutput(from: string, to: string, since: number): boolean {
    const nodes = this.nodes.slice(since);
    const producer = nodes.find((n) => n.outputs.includes(from));
    if (producer === undefined) return false;
    for (const n of nodes) {
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
      n.outputs = n.outputs.map((o) => (o === from ? to : o));
    }
    this.valueNames.delete(from);
    this.valueNames.add(to);
    return true;
  }

  /** The finished graph. An output that is a graph input gets an Identity, as ONNX requires. */
  finish(name: string, outputs: readonly { name: string; dtype: DType; shape?: readonly OnnxDim[] }[]): OnnxGraph {
    const inputNames = new Set(this.inputs.map((i) => i.name));
    const outputInfos: OnnxValueInfo[] = outputs.map((o) => {
      const source = inputNames.has(o.name) ? this.emit('Identity', [o.name]) : o.name;
      const info: OnnxValueInfo = { name: source, type: o.dtype };
      if (o.shape !== undefined) info.shape = [...o.shape];
      return info;
    });
    const graph: OnnxGraph = {
      name,
      nodes: this.nodes,
      inputs: this.inputs,
      outputs: outputInfos,
      initializers: this.initializers,
    };
    // An output declares its own type (a named value that is also an output, say 'layer1').
    const outputNames = new Set(outputInfos.map((o) => o.name));
    const valueInfo = [...this.declaredValues.values()].filter((v) => !outputNames.has(v.name));
    if (valueInfo.length > 0) graph.valueInfo = valueInfo;
    if (this.functions.length > 0) graph.functions = this.functions;
    return graph;
  }
}

/**
 * A featurefx node name in torch.onnx's scoped form, each module level a segment named from its
 * last non-numeric atom (torch.onnx's `_unqualified_variable_name`): 'layer1.0.conv1' ->
 * '/layer1/layer1.0/conv1'. A node's ONNX name is this, '/', and its op ('/layer1/layer1.0/conv1/Conv'),
 * so that Netron groups the file by module and src/onnx/node-names.ts reads the names back.
 */
function scopedName(name: string): string {
  const atoms = name.split('.');
  let start = 0;
  return atoms
    .map((atom, i) => {
      if (!/^[0-9]+$/.test(atom)) start = i;
      return `/${atoms.slice(start, i + 1).join('.')}`;
    })
    .join('');
}
