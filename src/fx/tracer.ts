/**
 * `Tracer`: runs a module's `forward` on traced values and records what it does as a `Graph`
 * (torch.fx's symbolic tracing). No kernel runs while tracing: ops see traced arguments and
 * record nodes instead of computing.
 *
 * As in torch.fx, modules whose class is one of featurefx's nn layers are leaves (one
 * `call_module` node each), containers (`Sequential`, `ModuleList`, `ModuleDict`) and user
 * modules are traced through, and `leafModules` adds classes to treat as leaves. Subclasses
 * override `callModule`, `createProxy` and `isLeafModule`, as torchvision's NodePathTracer does.
 */
import { TraceError } from '../errors.js';
import { type Module, withModuleCallInterceptor } from '../nn/module.js';
import { isBuiltinLayer } from '../nn/leaf.js';
import type { AnyOp } from '../ops/op.js';
import { type TracingHook, withTracingHook } from '../ops/tracing-hook.js';
import { Tensor } from '../tensor/tensor.js';
import { Graph } from './graph.js';
import { GraphModule } from './graph-module.js';
import { type Argument, type Node, type Opcode, type Target, isPlainObject } from './node.js';
import { type ProxyOwner, type TracedValue, createTracedValue, isTracedValue } from './proxy.js';
import { parameterNames } from './signature.js';
import { type WrapHost, withWrapHost } from './wrap.js';

/** A module class, for `leafModules`. */
export type ModuleClass = abstract new (...args: never[]) => Module;

export interface TracerOptions {
  /** Module classes to record as single `call_module` nodes instead of tracing through. */
  leafModules?: readonly ModuleClass[];
  /** Wrappers made by `wrap(fn, { global: false })` to record as single nodes in this tracer. */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any user function
  autowrapFunctions?: readonly Function[];
}

export interface TraceOptions {
  /**
   * Values for some of forward's parameters: they are passed as they are, get no placeholder,
   * and anything computed from them alone becomes a constant of the graph.
   */
  concreteArgs?: Record<string, unknown>;
}

export class Tracer implements ProxyOwner, TracingHook, WrapHost {
  readonly leafModules: readonly ModuleClass[];
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any user function
  readonly autowrapFunctions: ReadonlySet<Function>;
  graph = new Graph();
  root: Module | undefined;
  /** Name prefix of constant tensors' get_attr paths; two graphs sharing one module need different ones. */
  constantPrefix = '_tensor_constant';
  /** Tensors that are not parameters or buffers of the root, by the get_attr path given to them. */
  readonly tensorConstants = new Map<string, Tensor>();
  private modulePaths = new Map<Module, string>();
  private tensorPaths = new Map<Tensor, string>();
  private parameterPaths = new Set<Tensor>();
  private attributeProxies = new Map<Tensor, TracedValue>();
  private constantNodes = new Map<Tensor, Node>();

  constructor(options: TracerOptions = {}) {
    this.leafModules = options.leafModules ?? [];
    this.autowrapFunctions = new Set(options.autowrapFunctions ?? []);
  }

  /** Traces `root.forward` and returns the graph. */
  trace(root: Module, options: TraceOptions = {}): Graph {
    this.root = root;
    this.graph = new Graph();
    this.modulePaths = new Map();
    for (const [path, m] of root.namedModules()) {
      this.modulePaths.set(m, path);
      for (const [name] of m.namedChildren()) {
        if (name.includes('.')) {
          throw new TraceError(
            `module name '${name}' in ${path === '' ? root.className : `'${path}'`} contains '.', which node paths ` +
              `use as separator (PyTorch refuses such names too): rename it`,
          );
        }
      }
    }
    this.tensorPaths = new Map();
    this.parameterPaths = new Set();
    for (const [path, t] of root.namedParameters()) {
      this.tensorPaths.set(t, path);
      this.parameterPaths.add(t);
    }
    for (const [path, t] of root.namedBuffers()) this.tensorPaths.set(t, path);
    this.attributeProxies = new Map();
    this.constantNodes = new Map();
    this.tensorConstants.clear();

    const concrete = options.concreteArgs ?? {};
    const names = parameterNames(root.forward);
    for (const key of Object.keys(concrete)) {
      if (!names.includes(key)) {
        throw new TraceError(`concreteArgs names '${key}', which is not a parameter of forward (${names.join(', ')})`);
      }
    }
    const args = names.map((name) =>
      Object.hasOwn(concrete, name) ? concrete[name] : this.createProxy('placeholder', name, []),
    );
    const result = withWrapHost(this, () =>
      withTracingHook(this, () =>
        withModuleCallInterceptor(
          (m, _forward, a) => this.callModule(m, (...x) => this.traceForward(m, x), a),
          () => this.traceForward(root, args),
        ),
      ),
    );
    this.graph.output(this.createArg(result));
    return this.graph;
  }

  /** Whether `m` is recorded as one node: featurefx's own nn layers and the classes in `leafModules`. */
  isLeafModule(m: Module, _qualname: string): boolean {
    return isBuiltinLayer(m) || this.leafModules.some((cls) => m instanceof cls);
  }

  /** The dotted path of a module inside the traced root. */
  pathOfModule(m: Module): string {
    const path = this.modulePaths.get(m);
    if (path === undefined) {
      throw new TraceError(
        `a ${m.className} was called during tracing but is not a submodule of the traced ${this.root?.className}: ` +
          `assign it to a field of the model (or of one of its submodules) so that it has a name`,
      );
    }
    return path;
  }

  /** A call of a submodule: one node for a leaf, otherwise its forward traced through. */
  callModule(m: Module, forward: (...args: unknown[]) => unknown, args: unknown[]): unknown {
    const path = this.pathOfModule(m);
    if (!this.isLeafModule(m, path)) return forward(...args);
    return this.createProxy('call_module', path, args);
  }

  /**
   * Runs `m.forward` with `this` seen through a view where reading a parameter or buffer gives its
   * get_attr value, as torch.fx's `getattr` does: the node then comes where the code reads the
   * attribute (`this.layer_scale.mul(this.block.call(x))` records layer_scale before the block),
   * not where an op first uses the tensor. Methods run on the module itself, so that its private
   * state stays reachable.
   */
  private traceForward(m: Module, args: unknown[]): unknown {
    const view = new Proxy(m, {
      get: (target, prop) => {
        const value: unknown = Reflect.get(target, prop, target);
        if (value instanceof Tensor && this.parameterPaths.has(value)) return this.attributeProxy(value);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    // A GraphModule's forward is generated code, kept in a private field that a view cannot read;
    // it reads tensors through the module itself (`__self.getAttr`), which tensorArg records.
    return (m.forward as (...a: unknown[]) => unknown).apply(m instanceof GraphModule ? m : view, args);
  }

  /** Records a node whose arguments are turned from traced values and tensors into graph arguments. */
  createProxy(op: Opcode, target: Target, args: readonly unknown[]): TracedValue {
    const nodeArgs = args.map((a) => this.createArg(a));
    return createTracedValue(this, this.graph.createNode(op, target, nodeArgs, nodeName(op, target)));
  }

  /** TracingHook: an op applied to traced values. */
  record(op: AnyOp, args: readonly unknown[], asMethod: boolean): unknown {
    return this.createProxy(asMethod ? 'call_method' : 'call_function', op.name, args);
  }

  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any user function
  wrapsFunction(fn: Function): boolean {
    return this.autowrapFunctions.has(fn);
  }

  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any user function
  recordFunctionCall(fn: Function, args: readonly unknown[]): unknown {
    return this.createProxy('call_function', fn, args);
  }

  nodeOf(value: TracedValue): Node {
    if (value.owner !== this) {
      throw new TraceError(`${value.describe()} belongs to another trace; traced values cannot be kept across traces`);
    }
    if (value.node === undefined) {
      const attr = value.attribute!;
      value.node = this.nodeOf(this.createProxy('call_function', 'getattr', [attr.of, attr.name]));
    }
    return value.node;
  }

  /** Converts a value appearing in model code into something a node can hold. */
  createArg(a: unknown): Argument {
    if (isTracedValue(a)) return this.nodeOf(a);
    if (a instanceof Tensor) return this.tensorArg(a);
    if (Array.isArray(a)) return a.map((x) => this.createArg(x));
    if (isPlainObject(a)) {
      const out: Record<string, Argument> = {};
      for (const key of Object.keys(a)) {
        Object.defineProperty(out, key, { value: this.createArg(a[key]), enumerable: true, writable: true });
      }
      return out;
    }
    if (typeof a === 'object' && a !== null && 'forward' in a && 'namedChildren' in a) {
      throw new TraceError('a module was passed as an argument during tracing; call it instead (module.call(x))');
    }
    return a as Argument;
  }

  /** The get_attr value of a parameter or buffer of the root: one node per tensor per trace. */
  private attributeProxy(t: Tensor): TracedValue {
    let proxy = this.attributeProxies.get(t);
    if (proxy === undefined) {
      proxy = this.createProxy('get_attr', this.tensorPaths.get(t)!, []);
      this.attributeProxies.set(t, proxy);
    }
    return proxy;
  }

  /** Parameters and buffers become named get_attr nodes (one per tensor); other tensors constants. */
  private tensorArg(t: Tensor): Node {
    if (this.parameterPaths.has(t)) return this.attributeProxy(t).node!;
    const path = this.tensorPaths.get(t);
    // torch.fx reads buffers as plain tensors: their get_attr node is made where an op uses one,
    // outside createProxy, so torchvision's NodePathTracer gives it no name.
    if (path !== undefined) return this.graph.createNode('get_attr', path, [], nodeName('get_attr', path));
    let node = this.constantNodes.get(t);
    if (node === undefined) {
      const name = `${this.constantPrefix}${this.constantNodes.size}`;
      this.tensorConstants.set(name, t);
      node = this.graph.createNode('get_attr', name, [], name);
      this.constantNodes.set(t, node);
    }
    return node;
  }
}

/** torch.fx's base name for a node: the op or function name in snake_case, paths with '_'. */
function nodeName(op: Opcode, target: Target): string {
  if (typeof target === 'function') return snakeCase(target.name || 'fn');
  return op === 'placeholder' ? target : snakeCase(target.replaceAll('.', '_'));
}

/** torch.fx's `_snake_case`: `leafFunction` -> `leaf_function`, `ALL_CAPS` -> `all_caps`. */
export function snakeCase(s: string): string {
  let out = '';
  let prevLower = false;
  for (const c of s) {
    const upper = c !== c.toLowerCase();
    if (prevLower && upper) out += '_';
    out += c.toLowerCase();
    prevLower = c !== c.toUpperCase();
  }
  return out;
}
