/**
 * The formula weights of scripts/fixtures/make_models.py (`formula_weights`), so that a whole
 * model's logits can be compared with PyTorch's without a weight file: every tensor comes from
 * sin(0.61803 i + phase(key)) in float64, scaled by its role, then rounded to float32.
 */
import { availableParallelism } from 'node:os';
import type { Module } from '../../src/nn/module.js';
import { encodeModel } from '../../src/runtime/onnx-model.js';
import { NativeSession } from '../../src/runtime/native-session.js';
import { isFloating } from '../../src/tensor/dtype.js';
import { Tensor } from '../../src/tensor/tensor.js';

/** A tensor's role as `offset + scale * s`, decided once per tensor from its key and shape. */
function role(key: string, shape: readonly number[], numel: number): { offset: number; scale: number } {
  if (key.endsWith('running_var')) return { offset: 1, scale: 0.25 };
  if (key.endsWith('running_mean') || (key.endsWith('bias') && shape.length === 1)) return { offset: 0, scale: 0.1 };
  if (key.endsWith('layer_scale')) return { offset: 0.1, scale: 0.05 };
  if (shape.length === 1) return { offset: 1, scale: 0.1 };
  return { offset: 0, scale: 2 / Math.sqrt(numel / (shape[0] ?? 1)) };
}

const double = (name: string): { name: string; type: 'float64'; shape: [] } => ({ name, type: 'float64', shape: [] });
const CHUNK = 1 << 22;

/**
 * Python's `offset + scale * sin(arange(start, limit) * 0.61803 + phase)` in float64, rounded to
 * float32, op for op, run by ONNX Runtime: JavaScript's Math.sin took 15 s for vgg11_bn's 132M
 * weights (`0 + x` is exact, so one graph serves every role).
 */
let formula: NativeSession | undefined;
function formulaSession(): NativeSession {
  const graph = {
    name: 'formula_weights',
    inputs: ['start', 'limit', 'phase', 'scale', 'offset'].map(double),
    nodes: [
      { opType: 'Range', inputs: ['start', 'limit', 'one'], outputs: ['i'] },
      { opType: 'Mul', inputs: ['i', 'step'], outputs: ['angle0'] },
      { opType: 'Add', inputs: ['angle0', 'phase'], outputs: ['angle'] },
      { opType: 'Sin', inputs: ['angle'], outputs: ['s'] },
      { opType: 'Mul', inputs: ['scale', 's'], outputs: ['scaled'] },
      { opType: 'Add', inputs: ['offset', 'scaled'], outputs: ['value'] },
      { opType: 'Cast', inputs: ['value'], outputs: ['weights'], attributes: { to: 1 } },
    ],
    outputs: [{ name: 'weights', type: 'float32' as const, shape: ['n'] }],
    initializers: [
      { name: 'one', type: 'float64' as const, dims: [], raw: new Uint8Array(new Float64Array([1]).buffer) },
      { name: 'step', type: 'float64' as const, dims: [], raw: new Uint8Array(new Float64Array([0.61803]).buffer) },
    ],
  };
  // No graph optimisation: every op runs as written, as PyTorch runs Python's expression.
  formula ??= new NativeSession(encodeModel(graph), {
    intraOpNumThreads: availableParallelism(),
    graphOptimizationLevel: 'disabled',
  });
  return formula;
}

export function formulaWeights(model: Module): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [key, t] of model.stateDict()) {
    // Integer buffers (batch norm's counter, Swin's relative position index) and Swin V2's table of
    // relative coordinates are not weights: they keep the model's values.
    if (!isFloating(t.dtype) || key.endsWith('relative_coords_table')) {
      out.set(key, t);
      continue;
    }
    let phase = 0;
    for (let j = 0; j < key.length; j++) phase += key.charCodeAt(j) * (j + 1);
    phase = (phase % 1000) / 100;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const { offset, scale } = role(key, t.shape, numel);
    const data = new Float32Array(numel);
    // In chunks, so that the float64 intermediates of a 100M-element tensor stay small.
    for (let start = 0; start < numel; start += CHUNK) {
      const scalar = (v: number) => ({ type: 'float64' as const, dims: [], data: new Float64Array([v]) });
      const inputs = [start, Math.min(start + CHUNK, numel), phase, scale, offset].map(scalar);
      data.set(formulaSession().run(inputs)[0]!.data as Float32Array, start);
    }
    out.set(key, new Tensor('float32', t.shape, data));
  }
  return out;
}
