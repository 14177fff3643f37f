/**
 * `Module`, the base of every layer and model, as `torch.nn.Module`.
 *
 * Children, parameters and buffers are ordinary fields, discovered in declaration order:
 * a field holding a `Module` is a child, a field holding a `Tensor` is a parameter unless it was
 * declared with `registerBuffer`. Field names are the state-dict keys, so they are PyTorch's
 * (`running_mean`, `layer1`), which lets torchvision checkpoints load unchanged.
 *
 * JavaScript objects cannot be made callable, so `module.call(x)` is the one entry point: it runs
 * forward pre-hooks and hooks, and while tracing it lets the tracer decide whether to record the
 * module as one node or trace through its `forward`.
 */
// Layers and models call Tensor methods, which the ops layer installs.
import '../ops/tensor-methods.js';
import { type ZeroGradOptions, zeroGrads } from '../autograd/zero-grad.js';
import { isFloating } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { loadStateDictInto, type LoadStateDictOptions, type LoadStateDictResult } from './state-dict.js';

export type ForwardHook = (module: Module, inputs: readonly unknown[], output: unknown) => unknown;

/** Called before `forward` with its inputs; an array return replaces the inputs, `undefined` keeps them. */
export type ForwardPreHook = (module: Module, inputs: readonly unknown[]) => readonly unknown[] | undefined | void;

/** What one `clone()` has copied so far, original to copy, so that what was shared stays shared. */
export type CloneMemo = Map<object, unknown>;

export interface RemovableHandle {
  remove(): void;
}

/** Intercepts `Module.call` while tracing; see src/fx/tracer.ts. */
export type ModuleCallInterceptor = (
  module: Module,
  forward: (...args: unknown[]) => unknown,
  args: unknown[],
) => unknown;

/**
 * Sets an own enumerable property. Names come from users (ModuleDict keys, checkpoint keys), and
 * plain assignment to '__proto__' would replace the object's prototype instead.
 */
export function setOwnField(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

let callInterceptor: ModuleCallInterceptor | undefined;

/** Installs `interceptor` while `body` runs. Used by the tracer only. */
export function withModuleCallInterceptor<T>(interceptor: ModuleCallInterceptor, body: () => T): T {
  const previous = callInterceptor;
  callInterceptor = interceptor;
  try {
    return body();
  } finally {
    callInterceptor = previous;
  }
}

export abstract class Module<In extends unknown[] = unknown[], Out = unknown> {
  // Private (#) fields are not enumerable own properties, so they never look like children.
  #training = true;
  #buffers = new Set<string>();
  #nonPersistentBuffers = new Set<string>();
  #forwardHooks = new Map<number, ForwardHook>();
  #forwardPreHooks = new Map<number, ForwardPreHook>();
  #nextHookId = 0;

  abstract forward(...args: In): Out;

  /**
   * Runs the module: `module.call(x)` is PyTorch's `module(x)`: forward pre-hooks, `forward`, forward
   * hooks. While tracing, the tracer decides instead, and no hook runs (see `registerForwardHook`).
   */
  call(...args: In): Out {
    // Parameters assigned since the last call get their default requiresGrad before ops see them.
    for (const entry of this.ownTensors('parameters')) void entry;
    if (callInterceptor !== undefined) {
      return callInterceptor(this, (...a) => this.forward(...(a as In)), args) as Out;
    }
    const inputs = this.runForwardPreHooks(args) as In;
    return this.runForwardHooks(inputs, this.forward(...inputs)) as Out;
  }

  /**
   * Called before `forward` with its inputs; returning an array replaces them. As PyTorch's
   * `register_forward_pre_hook`; see `registerForwardHook` for when hooks run.
   */
  registerForwardPreHook(hook: ForwardPreHook): RemovableHandle {
    const id = this.#nextHookId++;
    this.#forwardPreHooks.set(id, hook);
    return { remove: () => void this.#forwardPreHooks.delete(id) };
  }

  /**
   * Called after `forward` with its inputs and output; a non-undefined return replaces the output.
   *
   * Hooks run when the module is called, not while it is traced. In a feature extractor (or any
   * GraphModule) a leaf module is the same object as in the model, so its hooks, registered before
   * or after the extractor was made, run when the extractor runs. A module traced through (a
   * `Sequential`, a ResNet block) has no call of its own in the graph: the extractor made by
   * `createFeatureExtractor` runs its hooks where its inlined code starts and ends, and refuses a
   * replacement value from them (make such a module a leaf to replace values). A compiled module
   * runs in ONNX Runtime, where no hook runs.
   */
  registerForwardHook(hook: ForwardHook): RemovableHandle {
    const id = this.#nextHookId++;
    this.#forwardHooks.set(id, hook);
    return { remove: () => void this.#forwardHooks.delete(id) };
  }

  /** Runs the forward pre-hooks on `args`; returns the arguments `forward` gets. */
  runForwardPreHooks(args: readonly unknown[]): readonly unknown[] {
    let inputs = args;
    for (const hook of this.#forwardPreHooks.values()) {
      const replaced = hook(this, inputs);
      if (replaced !== undefined) {
        if (!Array.isArray(replaced)) {
          throw new TypeError(
            `[registerForwardPreHook] a pre-hook of ${this.className} returned ${String(replaced)}; ` +
              'return an array of arguments to replace them, or undefined to keep them',
          );
        }
        inputs = replaced as readonly unknown[];
      }
    }
    return inputs;
  }

  /** Runs the forward hooks on `forward`'s inputs and output; returns the output the caller gets. */
  runForwardHooks(inputs: readonly unknown[], output: unknown): unknown {
    let result = output;
    for (const hook of this.#forwardHooks.values()) {
      const replaced = hook(this, inputs, result);
      if (replaced !== undefined) result = replaced;
    }
    return result;
  }

  get training(): boolean {
    return this.#training;
  }

  /** Sets training mode on this module and every descendant, like `nn.Module.train`. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.#training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** The class name, as PyTorch prints it. */
  get className(): string {
    return this.constructor.name;
  }

  /** Declares `name` as a buffer (state that is not a parameter: running statistics, say). */
  registerBuffer(name: string, value: Tensor | null, options: { persistent?: boolean } = {}): void {
    this.#buffers.add(name);
    if (options.persistent === false) this.#nonPersistentBuffers.add(name);
    setOwnField(this, name, value);
  }

  isBuffer(name: string): boolean {
    return this.#buffers.has(name);
  }

  /** Direct children, in declaration order. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [name, value] of Object.entries(this)) {
      if (value instanceof Module) yield [name, value];
    }
  }

  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /** This module and all descendants with their dotted paths ('' for this one); each module once. */
  *namedModules(prefix = '', seen = new Set<Module>()): Generator<[string, Module]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) {
      yield* child.namedModules(prefix === '' ? name : `${prefix}.${name}`, seen);
    }
  }

  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  /**
   * Own tensors: parameters (buffers excluded) or buffers, in declaration order. A parameter
   * requires grad unless a user said otherwise (`requiresGrad_(false)`, or the tensor's own flag
   * set before it became a parameter), as `nn.Parameter` does; this is where that default is applied.
   */
  *ownTensors(kind: 'parameters' | 'buffers'): Generator<[string, Tensor]> {
    for (const [name, value] of Object.entries(this)) {
      if (!(value instanceof Tensor) || this.#buffers.has(name) !== (kind === 'buffers')) continue;
      if (kind === 'parameters' && !value.requiresGradDecided && isFloating(value.dtype)) value.requiresGrad = true;
      yield [name, value];
    }
  }

  private *namedTensors(kind: 'parameters' | 'buffers'): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [path, m] of this.namedModules()) {
      for (const [name, t] of m.ownTensors(kind)) {
        if (seen.has(t)) continue;
        seen.add(t);
        yield [path === '' ? name : `${path}.${name}`, t];
      }
    }
  }

  namedParameters(): Generator<[string, Tensor]> {
    return this.namedTensors('parameters');
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, t]) => t);
  }

  namedBuffers(): Generator<[string, Tensor]> {
    return this.namedTensors('buffers');
  }

  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, t]) => t);
  }

  /** The descendant at a dotted path, like `get_submodule('layer1.0.conv1')`. */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the walk starts here
    let current: Module = this;
    const walked: string[] = [];
    for (const part of path.split('.')) {
      const next = Object.hasOwn(current, part) ? (current as unknown as Record<string, unknown>)[part] : undefined;
      if (!(next instanceof Module)) {
        const where = walked.length === 0 ? current.className : `'${walked.join('.')}' (${current.className})`;
        throw new RangeError(`[getSubmodule] ${where} has no submodule '${part}'`);
      }
      walked.push(part);
      current = next;
    }
    return current;
  }

  /**
   * Parameters and persistent buffers by dotted name, like `state_dict()`. Tensors shared by two
   * modules appear under both names, as in PyTorch.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [path, m] of this.namedModules()) {
      const prefix = path === '' ? '' : `${path}.`;
      for (const [name, t] of m.ownTensors('parameters')) out.set(prefix + name, t);
      for (const [name, t] of m.ownTensors('buffers')) {
        if (!m.#nonPersistentBuffers.has(name)) out.set(prefix + name, t);
      }
    }
    return out;
  }

  /**
   * Copies tensors from `stateDict` into this module, strict by default: missing, unexpected and
   * wrongly shaped keys are all listed in one `StateDictError`.
   */
  loadStateDict(
    stateDict: Map<string, Tensor> | Record<string, Tensor>,
    options: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    return loadStateDictInto(this, stateDict, options);
  }

  /**
   * Renames, in `stateDict`, the keys under `prefix` that older versions of this module saved
   * under other names, before `loadStateDict` checks the keys; PyTorch modules do this in
   * `_load_from_state_dict` by the checkpoint's `_version` (torchvision's FPN and RPNHead, saved
   * before their convolutions became Conv2dNormActivation). The default renames nothing.
   */
  upgradeStateDict(_stateDict: Map<string, Tensor>, _prefix: string): void {}

  /** Sets a parameter or buffer in place of the current one, keeping its kind. */
  setTensor(name: string, value: Tensor): void {
    if (!(Object.hasOwn(this, name) && (this as unknown as Record<string, unknown>)[name] instanceof Tensor)) {
      throw new RangeError(`[setTensor] ${this.className} has no tensor '${name}'`);
    }
    setOwnField(this, name, value);
  }

  /**
   * Sets whether every parameter requires grad, as `module.requires_grad_()`: `false` freezes
   * the module (a backbone under a trained head), and its parameters get no `.grad`.
   */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /**
   * Clears the gradients of every parameter, as `module.zero_grad()`: to null by default
   * (`setToNone`), or to zeros.
   */
  zeroGrad(options: ZeroGradOptions = {}): void {
    zeroGrads(this.parameters(), options);
  }

  /** Calls `fn` on every module, children first, like `nn.Module.apply`. */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /**
   * An independent deep copy, as `copy.deepcopy(module)` in PyTorch: same class, same training
   * flag, and nothing that changing one (its fields, tensors, buffers, a loaded state dict) changes
   * in the other. What the fields hold is copied by one rule, data is copied, code is shared:
   *
   * - `Module`s are cloned, once each: a module found twice (a shared layer, a feature extractor
   *   kept beside the model it came from) is one module in the copy too;
   * - `Tensor`s get new data, once each, so tied parameters stay tied;
   * - arrays, plain objects, `Map`s, `Set`s and typed arrays are copied, their contents by this rule;
   * - numbers, strings and other primitives are kept; functions, and instances of other classes,
   *   are shared (a closure over the original module still sees the original: use a method).
   *
   * Hooks: the copy runs the hooks registered on the original when it was cloned (the same
   * functions, as PyTorch's deepcopy copies its hook dicts); removing one through its handle
   * removes it from the original only. A `GraphModule` copy gets copies of its graphs and its own
   * generated code. A subclass holding `#private` fields overrides `emptyCopy` and `copyInto`.
   *
   * @example
   * class Scaled extends Module<[Tensor], Tensor> {
   *   conv = new nn.Conv2d(3, 8, 3);
   *   factors = [1, 2]; // data: copied
   *   act = F.relu; // code: shared
   *   forward(x: Tensor): Tensor {
   *     return this.act(this.conv.call(x)).mul(this.factors[1]!);
   *   }
   * }
   * const a = new Scaled().eval();
   * const b = a.clone();
   * // b instanceof Scaled, !b.training, b.conv !== a.conv, b.conv.weight !== a.conv.weight,
   * // b.factors !== a.factors, b.act === a.act
   */
  clone(): this {
    return this.#cloneWith(new Map());
  }

  #cloneWith(memo: CloneMemo): this {
    const done = memo.get(this);
    if (done !== undefined) return done as this;
    const copy = this.emptyCopy();
    memo.set(this, copy);
    this.copyInto(copy, memo);
    return copy;
  }

  /**
   * A new instance of this module's class holding nothing, for `clone` to fill. Only Module's own
   * constructor runs, so layers are not built (and initialised) again; a subclass with `#private`
   * fields overrides this to run its constructor, as GraphModule does.
   */
  protected emptyCopy(): this {
    return Reflect.construct(Module, [], this.constructor) as this;
  }

  /** Fills `copy` (from `emptyCopy`) by `clone`'s rule; a subclass with more state extends it. */
  protected copyInto(copy: this, memo: CloneMemo): void {
    copy.#training = this.#training;
    copy.#buffers = new Set(this.#buffers);
    copy.#nonPersistentBuffers = new Set(this.#nonPersistentBuffers);
    copy.#forwardHooks = new Map(this.#forwardHooks);
    copy.#forwardPreHooks = new Map(this.#forwardPreHooks);
    copy.#nextHookId = this.#nextHookId;
    for (const key of Reflect.ownKeys(this)) {
      const field = Object.getOwnPropertyDescriptor(this, key)!;
      if ('value' in field) field.value = Module.cloneValue(field.value, memo);
      Object.defineProperty(copy, key, field);
    }
  }

  /** One value by `clone`'s rule, for `copyInto` overrides that copy `#private` fields. */
  protected static cloneValue(value: unknown, memo: CloneMemo): unknown {
    // Primitives are values; functions are code.
    if (typeof value !== 'object' || value === null) return value;
    const done = memo.get(value);
    if (done !== undefined) return done;
    if (value instanceof Module) return value.#cloneWith(memo);
    if (value instanceof Tensor) {
      const copy = new Tensor(value.dtype, value.shape, value.data.slice());
      if (value.requiresGradDecided) copy.requiresGrad = value.requiresGrad && value.isLeaf;
      memo.set(value, copy);
      return copy;
    }
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const copy = (value as Uint8Array).slice();
      memo.set(value, copy);
      return copy;
    }
    if (Array.isArray(value)) {
      const copy: unknown[] = [];
      memo.set(value, copy);
      for (const item of value) copy.push(Module.cloneValue(item, memo));
      return copy;
    }
    if (value instanceof Map) {
      const copy = new Map();
      memo.set(value, copy);
      for (const [k, v] of value) copy.set(Module.cloneValue(k, memo), Module.cloneValue(v, memo));
      return copy;
    }
    if (value instanceof Set) {
      const copy = new Set();
      memo.set(value, copy);
      for (const v of value) copy.add(Module.cloneValue(v, memo));
      return copy;
    }
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return value;
    const copy = Object.create(proto) as object;
    memo.set(value, copy);
    for (const [k, v] of Object.entries(value)) setOwnField(copy, k, Module.cloneValue(v, memo));
    return copy;
  }

  /** Extra text shown in `toString()`, as PyTorch's `extra_repr`. */
  extraRepr(): string {
    return '';
  }

  toString(): string {
    const children = [...this.namedChildren()];
    const head = `${this.className}(${this.extraRepr()}`;
    if (children.length === 0) return `${head})`;
    const lines = children.map(([name, m]) => `  (${name}): ${m.toString().replaceAll('\n', '\n  ')}`);
    return `${head}\n${lines.join('\n')}\n)`;
  }
}
