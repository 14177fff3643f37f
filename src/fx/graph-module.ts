/**
 * `GraphModule`: a module made from a graph, as torch.fx's. It holds copies of only the
 * submodules and tensors its graph references (so a pruned graph carries no unused parameters),
 * and its `forward` is JavaScript generated from the graph (`.code`); call `recompile()` after
 * editing `graph`.
 */
import { type CloneMemo, Module, setOwnField } from '../nn/module.js';
import type { AnyOp } from '../ops/op.js';
import { getOp } from '../ops/registry.js';
import { Tensor } from '../tensor/tensor.js';
import { generateCode } from './codegen.js';
import { Graph } from './graph.js';
import { cloneGraph } from './graph-copy.js';
import { moduleStackOf } from './module-call.js';

/** Holds copied submodules and tensors on the way to a leaf, like the bare `nn.Module`s torch.fx creates. */
export class AttributeContainer extends Module {
  forward(): never {
    throw new TypeError('this container only holds copied submodules and parameters; it has no forward');
  }
}

export interface GraphModuleOptions {
  /** The name the module reports (its class name in printouts); defaults to 'GraphModule'. */
  className?: string;
  /** Tensors for get_attr nodes that are not found in the root (constants recorded while tracing). */
  constants?: ReadonlyMap<string, Tensor>;
}

type Compiled = (...args: unknown[]) => unknown;

function own(obj: object, key: string): unknown {
  return Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

export class GraphModule extends Module {
  #graph: Graph;
  #code = '';
  #compiled: Compiled | undefined;
  readonly #className: string;
  /** The modules that graph nodes record as traced through (see module-call.ts), by path: they run hooks only. */
  #inlinedModules = new Map<string, Module>();

  constructor(root: Module, graph: Graph, options: GraphModuleOptions = {}) {
    super();
    this.#className = options.className ?? 'GraphModule';
    this.#graph = graph;
    this.copyReferencedAttributes(root, graph, options.constants ?? new Map());
    // Parameters read through get_attr belong to no called module: give them their default
    // requiresGrad now, so that the first forward records them.
    void this.parameters();
    this.recompile();
  }

  override get className(): string {
    return this.#className;
  }

  get graph(): Graph {
    return this.#graph;
  }

  /** Replaces the graph (copying nothing new) and regenerates the code. */
  set graph(graph: Graph) {
    this.#graph = graph;
    this.recompile();
  }

  /** The generated source of `forward`. */
  get code(): string {
    return this.#code;
  }

  /**
   * Copies from `root` what `graph`'s call_module and get_attr nodes name, at the same paths, and
   * notes the modules it went through for their hooks.
   */
  protected copyReferencedAttributes(root: Module, graph: Graph, constants: ReadonlyMap<string, Tensor>): void {
    for (const node of graph.nodes()) {
      for (const call of moduleStackOf(node)) {
        if (!this.#inlinedModules.has(call.path)) this.#inlinedModules.set(call.path, root.getSubmodule(call.path));
      }
      if (node.op !== 'call_module' && node.op !== 'get_attr') continue;
      const path = node.target as string;
      const value = constants.get(path) ?? resolvePath(root, path);
      this.installAt(path, value, constants.has(path) || isBufferAt(root, path));
    }
  }

  private installAt(path: string, value: unknown, asBuffer: boolean): void {
    const parts = path.split('.');
    const last = parts.pop()!;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk starts here
    let holder: Module = this;
    for (const part of parts) {
      let next = own(holder, part);
      if (!(next instanceof Module)) {
        next = new AttributeContainer();
        setOwnField(holder, part, next);
      }
      holder = next as Module;
    }
    if (own(holder, last) !== undefined) return;
    if (asBuffer && value instanceof Tensor) holder.registerBuffer(last, value);
    else setOwnField(holder, last, value);
  }

  /** An empty GraphModule of this class (the constructor sets the private fields) for `clone` to fill. */
  protected override emptyCopy(): this {
    const args = [new AttributeContainer(), new Graph(), { className: this.#className }];
    return Reflect.construct(GraphModule, args, this.constructor) as this;
  }

  /**
   * Module's copy, then a copy of the graph, code generated for the copy, and the modules traced
   * through, cloned too (those of a model cloned along with it are its copies).
   */
  protected override copyInto(copy: this, memo: CloneMemo): void {
    super.copyInto(copy, memo);
    copy.#inlinedModules = Module.cloneValue(this.#inlinedModules, memo) as Map<string, Module>;
    copy.graph = cloneGraph(this.#graph, memo);
  }

  /** Runs the pre-hooks of the traced-through module at `path`; generated code calls this. */
  runPreHooksOf(path: string, inputs: unknown[]): void {
    const module = this.#inlinedModules.get(path);
    if (module !== undefined && module.runForwardPreHooks(inputs) !== inputs)
      throw replacedByHook(module, path, 'pre-hook');
  }

  /** Runs the forward hooks of the traced-through module at `path`; generated code calls this. */
  runHooksOf(path: string, inputs: unknown[], output: unknown): void {
    const module = this.#inlinedModules.get(path);
    if (module !== undefined && module.runForwardHooks(inputs, output) !== output)
      throw replacedByHook(module, path, 'hook');
  }

  /** The tensor at a dotted path in this module (what get_attr nodes read). */
  getAttr(path: string): Tensor {
    const value = resolvePath(this, path);
    if (!(value instanceof Tensor)) throw new RangeError(`[GraphModule] '${path}' is not a tensor`);
    return value;
  }

  /** Regenerates `code` and `forward` from `graph`; needed after editing the graph. */
  recompile(): string {
    const { source, constants } = generateCode(this.#graph);
    const ops: Record<string, AnyOp> = Object.create(null) as Record<string, AnyOp>;
    for (const node of this.#graph.nodes()) {
      if ((node.op === 'call_function' || node.op === 'call_method') && typeof node.target === 'string') {
        ops[node.target] = getOp(node.target);
      }
    }
    // The source holds only generated identifiers and JSON-escaped strings; see codegen.ts.
    const factory = new Function('__self', '__ops', '__consts', `"use strict";\nreturn ${source};`) as (
      self: GraphModule,
      ops: Record<string, AnyOp>,
      consts: unknown[],
    ) => Compiled;
    this.#compiled = factory(this, ops, constants);
    this.#code = source;
    return source;
  }

  forward(...args: unknown[]): unknown {
    return this.#compiled!(...args);
  }

  override toString(): string {
    return `${super.toString()}\n\n${this.#code}`;
  }
}

function replacedByHook(module: Module, path: string, kind: 'pre-hook' | 'hook'): TypeError {
  const what = kind === 'hook' ? 'its output' : 'its arguments';
  return new TypeError(
    `[GraphModule] a forward ${kind} of '${path}' (${module.className}) replaced ${what}, but this module's code ` +
      'is inlined in the graph, which cannot take the replacement: make its class a leaf (tracerOptions.leafModules) ' +
      'so that it runs as one call, or return undefined from the hook',
  );
}

/** The module or tensor at a dotted path, or a clear error naming the first missing part. */
export function resolvePath(root: Module, path: string): unknown {
  let current: unknown = root;
  const walked: string[] = [];
  for (const part of path.split('.')) {
    const next = typeof current === 'object' && current !== null ? own(current, part) : undefined;
    if (next === undefined) {
      throw new RangeError(`'${walked.join('.') || root.className}' has no attribute '${part}' (looking up '${path}')`);
    }
    walked.push(part);
    current = next;
  }
  return current;
}

function isBufferAt(root: Module, path: string): boolean {
  const dot = path.lastIndexOf('.');
  const owner = dot < 0 ? root : resolvePath(root, path.slice(0, dot));
  return owner instanceof Module && owner.isBuffer(path.slice(dot + 1));
}
