import type { TensorMeta } from '../tensor/tensor.js';
import { expectTensor } from './helpers/checks.js';
import { defineOp } from './registry.js';

export interface PadOptions {
  mode?: 'constant' | 'reflect' | 'replicate';
  value?: number;
}

const ONNX_MODES = { constant: 'constant', reflect: 'reflect', replicate: 'edge' } as const;

/** ONNX pads ([begins..., ends...] over all dims) from PyTorch's last-dim-first pairs. */
function onnxPads(rank: number, pad: readonly number[]): number[] {
  if (pad.length % 2 !== 0 || pad.length / 2 > rank) {
    throw new RangeError(`[pad] pad must have an even length of at most ${2 * rank}, got ${pad.length}`);
  }
  const begins = Array<number>(rank).fill(0);
  const ends = Array<number>(rank).fill(0);
  for (let i = 0; i < pad.length / 2; i++) {
    begins[rank - 1 - i] = pad[2 * i]!;
    ends[rank - 1 - i] = pad[2 * i + 1]!;
  }
  return [...begins, ...ends];
}

/** Pads the last dims, as `F.pad(x, pad, mode, value)`: `pad` is (left, right, top, bottom, ...). */
export const pad = defineOp({
  name: 'pad',
  infer: (x: TensorMeta, padding: readonly number[], options: PadOptions = {}): TensorMeta => {
    expectTensor('pad', 'input', x);
    const pads = onnxPads(x.shape.length, padding);
    const mode = options.mode ?? 'constant';
    if (!(mode in ONNX_MODES))
      throw new RangeError(`[pad] mode must be constant, reflect or replicate, got ${String(mode)}`);
    const rank = x.shape.length;
    return { dtype: x.dtype, shape: x.shape.map((d, i) => d + pads[i]! + pads[rank + i]!) };
  },
  lower: (ctx, x, padding, options = {}) => {
    const mode = ONNX_MODES[options.mode ?? 'constant'];
    const inputs = [x.name, ctx.int64s(onnxPads(x.shape.length, padding))];
    if (mode === 'constant') inputs.push(ctx.constant(options.value ?? 0, x.dtype));
    return ctx.emit('Pad', inputs, { mode });
  },
});
