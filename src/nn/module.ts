/**
 * `Module`, the base of every layer and model, as `torch.nn.Module`.
 *
 * Children, parameters and buffers are ordinary fields, discovered in declaration order:
 * a field holding a `Module` is a child, a field holding a `Tensor` is a parameter unless it was
 * declared with `registerBuffer`. Field names are the state-dict keys, so they are PyTorch's
 * (`running_mean`, `layer1`), which lets torchvision checkpoints load unchanged.
 *
 * JavaScript objects cannot be made callable, so `module.call(x)` is the one entry point: it runs
 * forward hooks, and while tracing it lets the tracer decide whether to record the module as one
 * node or trace through its `forward`.
 */
// Layers and models call Tensor methods, which the ops layer installs.
import '../ops/tensor-methods.js';
import { Tensor } from '../tensor/tensor.js';
import { loadStateDictInto, type LoadStateDictOptions, type LoadStateDictResult } from './state-dict.js';

export type ForwardHook = (module: Module, inputs: readonly unknown[], output: unknown) => unknown;

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
  #nextHookId = 0;

  abstract forward(...args: In): Out;

  /** Runs the module: `module.call(x)` is PyTorch's `module(x)`. */
  call(...args: In): Out {
    if (callInterceptor !== undefined) {
      return callInterceptor(this, (...a) => this.forward(...(a as In)), args) as Out;
    }
    let output = this.forward(...args);
    for (const hook of this.#forwardHooks.values()) {
      const replaced = hook(this, args, output);
      if (replaced !== undefined) output = replaced as Out;
    }
    return output;
  }

  /** Called after `forward` with its inputs and output; a non-undefined return replaces the output. */
  registerForwardHook(hook: ForwardHook): RemovableHandle {
    const id = this.#nextHookId++;
    this.#forwardHooks.set(id, hook);
    return { remove: () => void this.#forwardHooks.delete(id) };
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

  /** Own tensors: parameters (buffers excluded) or buffers, in declaration order. */
  *ownTensors(kind: 'parameters' | 'buffers'): Generator<[string, Tensor]> {
    for (const [name, value] of Object.entries(this)) {
      if (value instanceof Tensor && this.#buffers.has(name) === (kind === 'buffers')) yield [name, value];
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

  /** Sets a parameter or buffer in place of the current one, keeping its kind. */
  setTensor(name: string, value: Tensor): void {
    if (!(Object.hasOwn(this, name) && (this as unknown as Record<string, unknown>)[name] instanceof Tensor)) {
      throw new RangeError(`[setTensor] ${this.className} has no tensor '${name}'`);
    }
    setOwnField(this, name, value);
  }

  /** Calls `fn` on every module, children first, like `nn.Module.apply`. */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
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
