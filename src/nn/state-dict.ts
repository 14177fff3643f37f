/** Loading a state dict into a module: strict key and shape checks, one message for all problems. */
import { StateDictError } from '../errors.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from './module.js';

/** Tensors by dotted name, as `loadStateDict` takes them (a Map, or a plain object). */
export type StateDict = Map<string, Tensor> | Record<string, Tensor>;

export interface LoadStateDictOptions {
  /** Refuse missing or unexpected keys (default true). Wrong shapes and dtypes are always refused. */
  strict?: boolean;
  /**
   * Install the given tensors themselves instead of copying their values into the module's
   * (default false, as PyTorch's `assign`). Copying keeps the module's tensor objects, so an
   * optimizer made before the load still updates the module, and two modules loaded from one
   * state dict share nothing. Assigning saves a copy: for a large checkpoint loaded once, into a
   * model built with `skipInit`, it halves the peak memory. Assigned tensors keep the
   * `requiresGrad` of the ones they replace.
   */
  assign?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

const MAX_LISTED = 20;

/** Moves `oldKey` to `newKey` if present: what `upgradeStateDict` overrides do for each renamed key. */
export function renameKey(stateDict: Map<string, Tensor>, oldKey: string, newKey: string): void {
  const value = stateDict.get(oldKey);
  if (value === undefined) return;
  stateDict.delete(oldKey);
  stateDict.set(newKey, value);
}

function listKeys(title: string, keys: readonly string[]): string {
  const shown = keys.slice(0, MAX_LISTED).join(', ');
  return `${title} (${keys.length}): ${shown}${keys.length > MAX_LISTED ? `, ... and ${keys.length - MAX_LISTED} more` : ''}`;
}

export function loadStateDictInto(
  module: Module,
  source: Map<string, Tensor> | Record<string, Tensor>,
  options: LoadStateDictOptions,
): LoadStateDictResult {
  const strict = options.strict ?? true;
  // A copy, so that modules can rename older keys without touching the caller's state dict.
  const incoming = new Map(source instanceof Map ? source : Object.entries(source));
  for (const [path, m] of module.namedModules()) m.upgradeStateDict(incoming, path === '' ? '' : `${path}.`);
  const own = module.stateDict();
  const missingKeys = [...own.keys()].filter((k) => !incoming.has(k));
  const unexpectedKeys = [...incoming.keys()].filter((k) => !own.has(k));
  const mismatched: string[] = [];
  for (const [key, current] of own) {
    const next = incoming.get(key);
    if (next === undefined) continue;
    const sameShape = next.shape.length === current.shape.length && next.shape.every((d, i) => d === current.shape[i]);
    if (!sameShape || next.dtype !== current.dtype) {
      mismatched.push(
        `${key}: checkpoint ${next.dtype} ${formatShape(next.shape)}, model ${current.dtype} ${formatShape(current.shape)}`,
      );
    }
  }
  const problems: string[] = [];
  if (strict && missingKeys.length > 0) problems.push(listKeys('missing keys', missingKeys));
  if (strict && unexpectedKeys.length > 0) problems.push(listKeys('unexpected keys', unexpectedKeys));
  if (mismatched.length > 0) problems.push(listKeys('wrong shape or dtype', mismatched));
  if (problems.length > 0) {
    throw new StateDictError(
      `Error(s) loading state dict for ${module.className}:\n  ${problems.join('\n  ')}\n` +
        `Nothing was loaded. Check that the checkpoint matches the model${strict ? ', or pass { strict: false } to skip missing and unexpected keys' : ''}.`,
      missingKeys,
      unexpectedKeys,
      mismatched,
    );
  }
  // Checked everything first so that a failure leaves the module untouched.
  for (const [key, t] of incoming) {
    const current = own.get(key);
    if (current === undefined) continue;
    if (options.assign !== true) {
      current.copy_(t);
      continue;
    }
    if (current.requiresGradDecided) t.requiresGrad = current.requiresGrad;
    const dot = key.lastIndexOf('.');
    const owner = dot < 0 ? module : module.getSubmodule(key.slice(0, dot));
    owner.setTensor(key.slice(dot + 1), t);
  }
  return { missingKeys, unexpectedKeys };
}
