/**
 * Containers: `Sequential` (callable: runs its children in order), `ModuleList` and `ModuleDict`
 * (hold children; not callable). Children are stored under '0', '1', ... or the given keys, as
 * in PyTorch, so their state-dict keys match. Tracing goes through containers.
 */
import { Module, setOwnField } from '../module.js';

function checkName(container: string, name: string): void {
  if (name === '' || name.includes('.')) {
    throw new RangeError(`[${container}] child name ${JSON.stringify(name)} must be non-empty and contain no '.'`);
  }
}

/** `nn.Sequential(...modules)` or `nn.Sequential({ name: module, ... })` (PyTorch's OrderedDict form). */
export class Sequential<T = unknown> extends Module<[T], T> {
  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0];
    const entries: [string, Module][] =
      modules.length === 1 && first !== undefined && !(first instanceof Module)
        ? Object.entries(first)
        : (modules as Module[]).map((m, i) => [String(i), m]);
    for (const [name, m] of entries) {
      checkName('Sequential', name);
      if (!(m instanceof Module)) throw new TypeError(`[Sequential] child ${name} is not a Module`);
      setOwnField(this, name, m);
    }
  }

  forward(x: T): T {
    let out: unknown = x;
    for (const [, m] of this.namedChildren()) out = m.call(out);
    return out as T;
  }

  get length(): number {
    return this.children().length;
  }

  /** The i-th child (negative counts from the end). */
  at(i: number): Module {
    const children = this.children();
    const child = children[i < 0 ? children.length + i : i];
    if (child === undefined)
      throw new RangeError(`[Sequential] index ${i} is out of range for ${children.length} children`);
    return child;
  }

  *[Symbol.iterator](): Iterator<Module> {
    yield* this.children();
  }
}

/** `nn.ModuleList(modules)`: children '0', '1', ... that forward code iterates. */
export class ModuleList<M extends Module = Module> extends Module<never[], never> {
  constructor(modules: readonly M[] = []) {
    super();
    modules.forEach((m) => this.push(m));
  }

  forward(): never {
    throw new TypeError(
      "ModuleList is not callable: iterate it in the parent module's forward (for (const m of this.layers) x = m.call(x))",
    );
  }

  push(m: M): this {
    if (!(m instanceof Module)) throw new TypeError('[ModuleList] can only hold Modules');
    setOwnField(this, String(this.length), m);
    return this;
  }

  get length(): number {
    return this.children().length;
  }

  at(i: number): M {
    const children = this.children();
    const child = children[i < 0 ? children.length + i : i];
    if (child === undefined)
      throw new RangeError(`[ModuleList] index ${i} is out of range for ${children.length} modules`);
    return child as M;
  }

  *[Symbol.iterator](): Iterator<M> {
    yield* this.children() as M[];
  }
}

/** `nn.ModuleDict({ name: module })`: named children that forward code looks up. */
export class ModuleDict<M extends Module = Module> extends Module<never[], never> {
  constructor(modules: Record<string, M> = {}) {
    super();
    for (const [name, m] of Object.entries(modules)) this.set(name, m);
  }

  forward(): never {
    throw new TypeError("ModuleDict is not callable: look modules up with get(name) in the parent module's forward");
  }

  set(name: string, m: M): this {
    checkName('ModuleDict', name);
    setOwnField(this, name, m);
    return this;
  }

  get(name: string): M {
    const m = Object.hasOwn(this, name) ? (this as unknown as Record<string, unknown>)[name] : undefined;
    if (!(m instanceof Module)) throw new RangeError(`[ModuleDict] no module named ${JSON.stringify(name)}`);
    return m as M;
  }

  keys(): string[] {
    return [...this.namedChildren()].map(([k]) => k);
  }

  entries(): [string, M][] {
    return [...this.namedChildren()] as [string, M][];
  }
}
