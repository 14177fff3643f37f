/**
 * `Optimizer`: the base of the optimizers, as `torch.optim.Optimizer`: param groups, per-parameter
 * state, `zeroGrad`, `stateDict`/`loadStateDict`.
 *
 * How an update is written: the arithmetic runs through ops (ONNX Runtime kernels) inside
 * `noGrad`, which gives new tensors; the result is then copied into the parameter's own storage
 * (`param.copy_(newValue)`). The parameter stays the same tensor object, so a module, a
 * feature extractor built on it and the optimizer keep sharing it, as torch's in-place `param.add_`
 * leaves every reference seeing the new values. The optimizer's state tensors (momentum buffers,
 * moment estimates) are its own and are simply replaced.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { type ZeroGradOptions, zeroGrads } from '../autograd/zero-grad.js';
import { zeros } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Per-parameter state: tensors (buffers, moments) and numbers (the step count). */
export type ParamState = Record<string, Tensor | number>;

/** A param group as given to a constructor: its params, and options overriding the defaults. */
export type ParamGroupSpec<O> = { params: Iterable<Tensor> } & Partial<O>;

/** What a constructor takes: tensors (one group), or groups with their own options. */
export type Params<O> = Iterable<Tensor> | Iterable<ParamGroupSpec<O>>;

/** A param group: its params and every option, its own or the optimizer's default. */
export type ParamGroup<O> = O & { params: Tensor[] };

/**
 * An optimizer's state as plain data, as `optimizer.state_dict()`: params are named by their
 * index, counted through the groups in order.
 */
export interface OptimizerStateDict<O> {
  state: Record<number, ParamState>;
  paramGroups: (O & { params: number[] })[];
}

export abstract class Optimizer<O extends object> {
  readonly paramGroups: ParamGroup<O>[] = [];
  /** State of each parameter that has taken a step. */
  readonly state = new Map<Tensor, ParamState>();

  constructor(
    params: Params<O>,
    readonly defaults: O,
  ) {
    const name = this.constructor.name;
    if (params instanceof Tensor || params === null || typeof params !== 'object' || !(Symbol.iterator in params)) {
      throw new TypeError(
        `[${name}] params argument given to the optimizer should be an iterable of Tensors or dicts, but got ` +
          `${params instanceof Tensor ? 'a Tensor' : typeof params}; pass model.parameters() or a list of groups`,
      );
    }
    const list = [...params] as (Tensor | ParamGroupSpec<O>)[];
    if (list.length === 0) throw new RangeError(`[${name}] optimizer got an empty parameter list`);
    const groups = list.every((p) => p instanceof Tensor) ? [{ params: list as Tensor[] }] : list;
    for (const group of groups) this.addParamGroup(group as ParamGroupSpec<O>);
  }

  /** Checks a group's options (torch's messages); called for the defaults and each group. */
  protected abstract validate(options: O): void;

  /**
   * The names of the state tensors a parameter's update reads and writes (momentum buffers,
   * moment estimates); they start as zeros.
   */
  abstract stateNames(group: ParamGroup<O>): string[];

  /**
   * The numbers one parameter's next update uses, from its group and its state (learning rate,
   * bias corrections). They are kept apart from `update` so that a compiled training step takes
   * them as inputs, and one ONNX Runtime session serves every step and schedule.
   */
  abstract stepScalars(group: ParamGroup<O>, state: ParamState): Record<string, number>;

  /**
   * One parameter's update, written with ops: the new value of `param` from its gradient, its
   * state tensors (`stateNames`; the new ones are written into `state`) and this step's scalars,
   * numbers when eager and graph values in a compiled training step.
   */
  abstract update(
    param: Tensor,
    grad: Tensor,
    state: Record<string, Tensor>,
    group: ParamGroup<O>,
    scalars: Readonly<Record<string, Tensor | number>>,
  ): Tensor;

  /** Counts a step taken in the parameter's state (Adam's `step`), after its update. */
  advance(state: ParamState): void {
    void state;
  }

  /** Applies one update to every parameter that has a gradient, as `optimizer.step()`. */
  step(): void {
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const param of group.params) {
          if (param.grad === null) continue;
          checkGradShape(this.constructor.name, param, param.grad);
          const state = this.stateOf(param);
          const tensors = this.stateTensors(param, group);
          const next = this.update(param, param.grad, tensors, group, this.stepScalars(group, state));
          Object.assign(state, tensors);
          this.advance(state);
          param.copy_(next);
        }
      }
    });
  }

  /** A parameter's state tensors: those of its last step, zeros before its first. */
  stateTensors(param: Tensor, group: ParamGroup<O>): Record<string, Tensor> {
    const state = this.stateOf(param);
    return Object.fromEntries(
      this.stateNames(group).map((name) => [
        name,
        stateTensor(state, name) ?? zeros(param.shape, { dtype: param.dtype }),
      ]),
    );
  }

  /** Adds a group of params with its own options, as `optimizer.add_param_group`. */
  addParamGroup(group: ParamGroupSpec<O>): void {
    const name = this.constructor.name;
    if (group === null || typeof group !== 'object' || group instanceof Tensor || !('params' in group)) {
      throw new TypeError(`[${name}] a param group must be an object { params, ...options }`);
    }
    const groupParams = group.params instanceof Tensor ? [group.params] : [...group.params];
    for (const p of groupParams) {
      if (!(p instanceof Tensor)) {
        throw new TypeError(`[${name}] optimizer can only optimize Tensors, but one of the params is ${typeof p}`);
      }
      if (!p.isLeaf) throw new RangeError(`[${name}] can't optimize a non-leaf Tensor; pass its detach()ed leaf`);
    }
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    if (groupParams.some((p) => seen.has(p)) || new Set(groupParams).size !== groupParams.length) {
      throw new RangeError(`[${name}] some parameters appear in more than one parameter group`);
    }
    const full = { ...this.defaults, ...group, params: groupParams } as ParamGroup<O>;
    this.validate(full);
    this.paramGroups.push(full);
  }

  /**
   * Clears the gradients of every parameter, as `optimizer.zero_grad()`: to null by default
   * (`setToNone`), or to zeros.
   */
  zeroGrad(options: ZeroGradOptions = {}): void {
    zeroGrads(
      this.paramGroups.flatMap((g) => g.params),
      options,
    );
  }

  /** The state of every parameter and the options of every group; params named by index. */
  stateDict(): OptimizerStateDict<O> {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const ids = group.params.map((p) => {
        if (!index.has(p)) index.set(p, index.size);
        return index.get(p)!;
      });
      return { ...group, params: ids };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) state[index.get(p)!] = { ...s };
    return { state, paramGroups };
  }

  /** Restores what `stateDict` gave, for the same params in the same group layout. */
  loadStateDict(stateDict: OptimizerStateDict<O>): void {
    const name = this.constructor.name;
    const saved = stateDict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new RangeError(
        `[${name}] loaded state dict has a different number of parameter groups (${saved.length}, ` +
          `this optimizer has ${this.paramGroups.length})`,
      );
    }
    saved.forEach((g, i) => {
      if (g.params.length !== this.paramGroups[i]!.params.length) {
        throw new RangeError(
          `[${name}] loaded state dict contains a parameter group that doesn't match the size of optimizer's group ` +
            `(group ${i}: ${g.params.length} params, this optimizer's has ${this.paramGroups[i]!.params.length})`,
        );
      }
    });
    this.state.clear();
    saved.forEach((g, i) => {
      const group = this.paramGroups[i]!;
      g.params.forEach((id, j) => {
        const s = stateDict.state[id];
        if (s !== undefined) this.state.set(group.params[j]!, { ...s });
      });
      this.paramGroups[i] = { ...group, ...g, params: group.params };
    });
  }

  /** The state of `param`, created empty on its first step. */
  stateOf(param: Tensor): ParamState {
    let s = this.state.get(param);
    if (s === undefined) {
      s = {};
      this.state.set(param, s);
    }
    return s;
  }
}

/** A gradient must have its param's shape: one that broadcasts would write another param's worth of values. */
function checkGradShape(optimizer: string, param: Tensor, grad: Tensor): void {
  if (grad.shape.join() !== param.shape.join() || grad.dtype !== param.dtype) {
    throw new RangeError(
      `[${optimizer}] a parameter of shape ${formatShape(param.shape)} (${param.dtype}) has a gradient of shape ` +
        `${formatShape(grad.shape)} (${grad.dtype}); .grad must match its tensor's shape and dtype`,
    );
  }
}

/** The state tensor `key` of `state`, which an earlier step stored. */
export function stateTensor(state: ParamState, key: string): Tensor | undefined {
  const value = state[key];
  return value instanceof Tensor ? value : undefined;
}

/** A RangeError with torch's `Invalid <what> value: <value>` wording, unless `ok`. */
export function checkOption(optimizer: string, ok: boolean, message: string): void {
  if (!ok) throw new RangeError(`[${optimizer}] ${message}`);
}
