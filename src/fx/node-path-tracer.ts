/**
 * The tracer behind feature extraction: names every node by its path in the module hierarchy,
 * exactly as torchvision's NodePathTracer (0.14) does:
 *
 * - a `call_module` node is named by the module's path (`layer1.0.conv1`);
 * - any other node by the path of the module whose forward made it, a `.`, and its graph name
 *   (`layer1.0.add`); at the top level, just the graph name (`x`, `flatten`);
 * - a trailing `_{n}` (graph names carry a global counter) is dropped, then a counter scoped to
 *   that name is added back: `relu`, `relu_1`, ... within one parent.
 *
 * torchvision finds the counter by scanning all earlier names (quadratic); a map from each base
 * name to its last counter gives the same names in linear time.
 *
 * Beyond torchvision, each call of a module traced through is recorded on the nodes it made
 * (`meta.moduleStack`, see module-call.ts), so that the extractor can run its hooks; the name is
 * also kept on the node (`meta.qualname`), which ONNX export names its nodes and values by.
 *
 * Lives in fx rather than featureExtraction because export and compile trace plain modules with it
 * too (onnx-export.ts, `toGraphModule`); torchvision's leaf defaults stay with feature extraction.
 */
import { type Module } from '../nn/module.js';
import type { ModuleCall } from './module-call.js';
import { type Argument, type Node, type Opcode, type Target, isPlainObject } from './node.js';
import { type TracedValue, isTracedValue } from './proxy.js';
import { Tracer, type TracerOptions } from './tracer.js';

export interface NodePathTracerOptions extends TracerOptions {
  /**
   * Record the calls of modules traced through, for their hooks (default true). Off, only names
   * are added: the graph module runs no hooks of modules traced through, as after `symbolicTrace`;
   * export and compile trace a plain module so, to change nothing but its names.
   */
  recordModuleCalls?: boolean;
}

export class NodePathTracer extends Tracer {
  /** The dotted path of the module whose forward is being traced ('' for the root). */
  private currentModuleQualname = '';
  /** Each recorded node's name, in execution order. */
  readonly nodeToQualname = new Map<Node, string>();
  private readonly lastSuffix = new Map<string, number>();
  /** The calls of traced-through modules around the current point, outermost first; see module-call.ts. */
  private moduleStack: readonly ModuleCall[] = [];
  private moduleCalls = 0;
  private readonly recordsModuleCalls: boolean;

  constructor(options: NodePathTracerOptions = {}) {
    super(options);
    this.recordsModuleCalls = options.recordModuleCalls ?? true;
  }

  override callModule(m: Module, forward: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    const previous = this.currentModuleQualname;
    const previousStack = this.moduleStack;
    try {
      const path = this.pathOfModule(m);
      this.currentModuleQualname = path;
      if (this.isLeafModule(m, path) || !this.recordsModuleCalls) return super.callModule(m, forward, args);
      // Recorded so that the extractor can run this module's hooks, although its code is inlined.
      const call: ModuleCall = { id: this.moduleCalls++, path, inputs: args.map((a) => recorded(a)) };
      this.moduleStack = [...previousStack, call];
      const output = super.callModule(m, forward, args);
      call.output = recorded(output);
      return output;
    } finally {
      this.currentModuleQualname = previous;
      this.moduleStack = previousStack;
    }
  }

  override createProxy(op: Opcode, target: Target, args: readonly unknown[]): TracedValue {
    const proxy = super.createProxy(op, target, args);
    const node = proxy.node!;
    if (this.moduleStack.length > 0) node.meta.moduleStack = this.moduleStack;
    const qualname = this.qualnameOf(node);
    this.nodeToQualname.set(node, qualname);
    // Kept on the node so that later stages (ONNX export names its nodes with it) can find it.
    node.meta.qualname = qualname;
    return proxy;
  }

  private qualnameOf(node: Node): string {
    let name = this.currentModuleQualname;
    if (node.op !== 'call_module') name = name === '' ? node.name : `${name}.${node.name}`;
    // Undo the graph's global counter (torchvision's `.+_[0-9]+$` test)...
    if (/^.+_[0-9]+$/s.test(name)) name = name.slice(0, name.lastIndexOf('_'));
    // ... and count repeats within this name instead.
    const last = this.lastSuffix.get(name);
    const suffix = last === undefined ? 0 : last + 1;
    this.lastSuffix.set(name, suffix);
    return suffix === 0 ? name : `${name}_${suffix}`;
  }

  /** The names of all recorded nodes, in execution order. */
  nodeNames(): string[] {
    return [...this.nodeToQualname.values()];
  }
}

/**
 * A value passed to or returned by a module, as a graph argument: traced values become their
 * nodes (a lazily recorded attribute that has none yet stays undefined, since making its node here
 * would add a node torchvision does not have), other values stay as they are.
 */
function recorded(value: unknown): Argument {
  if (isTracedValue(value)) return value.node;
  if (Array.isArray(value)) return value.map(recorded);
  if (isPlainObject(value)) {
    const out: Record<string, Argument> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(out, key, { value: recorded(value[key]), enumerable: true, writable: true });
    }
    return out;
  }
  return value as Argument;
}
