/**
 * The formula weights of scripts/fixtures/make_models.py (`formula_weights`), so that a whole
 * model's logits can be compared with PyTorch's without a weight file: every tensor comes from
 * sin(0.61803 i + phase(key)) in float64, scaled by its role, then rounded to float32.
 */
import type { Module } from '../../src/nn/module.js';
import { Tensor } from '../../src/tensor/tensor.js';

export function formulaWeights(model: Module): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [key, t] of model.stateDict()) {
    if (key.endsWith('num_batches_tracked')) {
      out.set(key, t);
      continue;
    }
    let phase = 0;
    for (let j = 0; j < key.length; j++) phase += key.charCodeAt(j) * (j + 1);
    phase = (phase % 1000) / 100;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const fanIn = numel / (t.shape[0] ?? 1);
    const role = (s: number): number => {
      if (key.endsWith('running_var')) return 1 + 0.25 * s;
      if (key.endsWith('running_mean') || (key.endsWith('bias') && t.shape.length === 1)) return 0.1 * s;
      if (key.endsWith('layer_scale')) return 0.1 + 0.05 * s;
      if (t.shape.length === 1) return 1 + 0.1 * s;
      return (2 / Math.sqrt(fanIn)) * s;
    };
    const data = new Float32Array(numel);
    for (let i = 0; i < numel; i++) data[i] = role(Math.sin(i * 0.61803 + phase));
    out.set(key, new Tensor('float32', t.shape, data));
  }
  return out;
}
