/**
 * Which modules tracing records as single nodes by default: featurefx's own nn layers, by exact
 * class (torch.fx checks that a module's class is defined in torch.nn, so a user's subclass of a
 * layer is traced through). Containers are not leaves.
 */
import type { Module } from './module.js';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any layer class
const builtinLayers = new Set<Function>();

/** Declares a layer class as one of featurefx's own (called once per layer file). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any layer class
export function registerBuiltinLayer(cls: Function): void {
  builtinLayers.add(cls);
}

export function isBuiltinLayer(m: Module): boolean {
  return builtinLayers.has(m.constructor);
}
