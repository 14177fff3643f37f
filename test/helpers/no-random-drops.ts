/**
 * Train-mode dropout and stochastic depth draw random masks, which no second library (PyTorch) or
 * second run (a compiled graph) reproduces: gradient checks set their probability to 0, which
 * both libraries treat as the identity.
 */
import { Dropout } from '../../src/nn/layers/dropout.js';
import type { Module } from '../../src/nn/module.js';
import { StochasticDepth } from '../../src/nn/vision-ops/stochastic-depth.js';

export function withoutRandomDrops<M extends Module>(model: M): M {
  for (const m of model.modules()) {
    // `p` is readonly to users; a test may change it before tracing, as PyTorch's `m.p = 0.0`.
    if (m instanceof Dropout || m instanceof StochasticDepth) (m as { p: number }).p = 0;
  }
  return model;
}
