/**
 * Swin's shifted-window attention, as torchvision 0.14's swin_transformer.py: the modules
 * ShiftedWindowAttention (V1) and ShiftedWindowAttentionV2, and the functions torchvision marks
 * with `torch.fx.wrap`, each one `call_function` node in a trace, named as torchvision names it.
 * Their bodies may branch on sizes (padding, the shift zeroed when a window covers the map, the
 * attention mask), as torchvision's do; the batch size is never written into a shape (-1 stands
 * for it), so that the graph written for one batch size serves every other.
 */
import { wrap } from '../fx/wrap.js';
import { ReLU } from '../nn/layers/activation.js';
import { Sequential } from '../nn/layers/containers.js';
import { Linear } from '../nn/layers/linear.js';
import { normal } from '../nn/init.js';
import { Module } from '../nn/module.js';
import { add } from '../ops/add.js';
import { arange } from '../ops/arange.js';
import { floordiv } from '../ops/floordiv.js';
import { ge } from '../ops/ge.js';
import { size } from '../ops/size.js';
import { to } from '../ops/to.js';
import { cat } from '../ops/cat.js';
import { clamp } from '../ops/clamp.js';
import { div } from '../ops/div.js';
import { dropout } from '../ops/dropout.js';
import { exp } from '../ops/exp.js';
import { getitem, slice } from '../ops/getitem.js';
import { linear } from '../ops/linear.js';
import { matmul } from '../ops/matmul.js';
import { mul } from '../ops/mul.js';
import { ne } from '../ops/ne.js';
import { newZeros } from '../ops/new-zeros.js';
import { pad } from '../ops/pad.js';
import { roll } from '../ops/roll.js';
import { sigmoid } from '../ops/sigmoid.js';
import { softmax } from '../ops/softmax.js';
import { sqrt } from '../ops/sqrt.js';
import { sub } from '../ops/sub.js';
import { sum } from '../ops/sum.js';
import { maskedFill } from '../ops/where.js';
import { fromData, full, tensor } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';

/** The bias table's rows picked by the index, as [1, heads, N, N] for windows of N tokens. */
export const getRelativePositionBias = wrap(function _get_relative_position_bias(
  relativePositionBiasTable: Tensor,
  relativePositionIndex: Tensor,
  windowSize: readonly number[],
): Tensor {
  const N = windowSize[0]! * windowSize[1]!;
  const bias = getitem(relativePositionBiasTable, relativePositionIndex).view([N, N, -1]);
  return bias.permute([2, 0, 1]).contiguous().unsqueeze(0);
});

export interface ShiftedWindowAttentionOptions {
  shiftSize: readonly number[];
  attentionDropout?: number;
  dropout?: number;
  qkvBias?: Tensor | null;
  projBias?: Tensor | null;
  /** Swin V2's per-head scale of cosine attention (its log); absent for V1's scaled dot product. */
  logitScale?: Tensor;
}

/**
 * Sizes that are plain numbers when run and graph values when lowered to ONNX (`F.size`), so that
 * one compiled graph serves every input size: arithmetic on them goes through ops.
 */
type Size = number;

/** a mod m, for a size a and a fixed m. */
const mod = (a: Size, m: number): Size => sub(a, mul(floordiv(a, m), m)) as unknown as Size;

/**
 * For each position along one axis of a padded map of `size`, the region of the shifted layout it
 * belongs to, as torchvision's mask assigns the slices (0, -window), (-window, -shift),
 * (-shift, None): 0, 1, 2 from the start. A zero shift gives one region (torchvision's last slice
 * is then the whole axis).
 */
function regionIds(size: Size, window: number, shift: Size, shifting: Size): Tensor {
  const positions = arange(size);
  const from = (start: Size): Tensor => to(ge(positions, sub(size, start) as unknown as number), 'float32');
  return mul(add(from(window), from(shift)), shifting);
}

/**
 * -100 between tokens of one window that come from different regions of the unshifted map, 0
 * elsewhere: [windows, N, N], built with ops from the padded sizes and the shifts.
 */
function attentionMask(
  padH: Size,
  padW: Size,
  windowSize: readonly number[],
  shifts: readonly Size[],
  shifting: readonly Size[],
): Tensor {
  const [wh, ww] = windowSize as [number, number];
  const rows = mul(regionIds(padH, wh, shifts[0]!, shifting[0]!), 3).unsqueeze(1);
  const cols = regionIds(padW, ww, shifts[1]!, shifting[1]!).unsqueeze(0);
  const [gh, gw] = [floordiv(padH, wh) as unknown as Size, floordiv(padW, ww) as unknown as Size];
  let mask = add(rows, cols).reshape([gh, wh, gw, ww]);
  mask = mask.permute([0, 2, 1, 3]).reshape([mul(gh, gw) as unknown as Size, wh * ww]);
  mask = sub(mask.unsqueeze(1), mask.unsqueeze(2));
  return maskedFill(mask, ne(mask, 0), -100);
}

/** F.normalize(x, dim=-1): x over its L2 norm along the last dim, at least 1e-12. */
function normalizeLastDim(x: Tensor): Tensor {
  return div(x, clamp(sqrt(sum(mul(x, x), -1, true)), { min: 1e-12 }));
}

/**
 * Window based multi-head self attention with relative position bias, shifted or not, on a
 * [B, H, W, C] map (torchvision's `shifted_window_attention`): pad to whole windows, roll by the
 * shift, attend within each window, then undo all three.
 */
export const shiftedWindowAttention = wrap(function shifted_window_attention(
  input: Tensor,
  qkvWeight: Tensor,
  projWeight: Tensor,
  relativePositionBias: Tensor,
  windowSize: readonly number[],
  numHeads: number,
  options: ShiftedWindowAttentionOptions,
): Tensor {
  const [wh, ww] = windowSize as [number, number];
  const C = input.shape[3]!;
  const [H, W] = [size(input, 1), size(input, 2)];
  const padR = mod(sub(ww, mod(W, ww)) as unknown as Size, ww);
  const padB = mod(sub(wh, mod(H, wh)) as unknown as Size, wh);
  let x = pad(input, [0, 0, 0, padR, 0, padB]);
  const [padH, padW] = [add(H, padB) as unknown as Size, add(W, padR) as unknown as Size];

  // A window as large as the map has nothing to shift: 1 - 1 // ((pad - 1) // window + 1) is 0
  // when the padded size is one window, else 1.
  const covers = (padded: Size, window: number): Size =>
    sub(1, floordiv(1, add(floordiv(sub(padded, 1), window), 1))) as unknown as Size;
  const shifted = options.shiftSize.some((s) => s > 0);
  // Per axis, 1 where it shifts and 0 where not; the shifts themselves.
  const shifting = [options.shiftSize[0]! > 0 ? covers(padH, wh) : 0, options.shiftSize[1]! > 0 ? covers(padW, ww) : 0];
  const shifts = shifting.map((on, i) => mul(on, options.shiftSize[i]!)) as unknown as Size[];
  if (shifted) x = roll(x, [sub(0, shifts[0]!), sub(0, shifts[1]!)] as unknown as number[], [1, 2]);

  // Partition windows: [B * windows, N, C] (-1 for the batch, which a compiled graph leaves open).
  const [gh, gw] = [floordiv(padH, wh) as unknown as Size, floordiv(padW, ww) as unknown as Size];
  const numWindows = mul(gh, gw) as unknown as Size;
  const N = wh * ww;
  x = x.view([-1, gh, wh, gw, ww, C]);
  x = x.permute([0, 1, 3, 2, 4, 5]).reshape([-1, N, C]);

  let qkvBias = options.qkvBias ?? null;
  if (options.logitScale !== undefined && qkvBias !== null) {
    // V2 has no key bias: the middle third of qkv's bias is zero.
    const length = qkvBias.shape[0]! / 3;
    const zeros = newZeros(qkvBias, [length]);
    qkvBias = cat([getitem(qkvBias, slice(0, length)), zeros, getitem(qkvBias, slice(2 * length))]);
  }
  const qkv = linear(x, qkvWeight, qkvBias)
    .reshape([-1, N, 3, numHeads, C / numHeads])
    .permute([2, 0, 3, 1, 4]);
  const k = getitem(qkv, 1);
  let q = getitem(qkv, 0);
  let v = getitem(qkv, 2);
  let attn: Tensor;
  if (options.logitScale !== undefined) {
    // Cosine attention, scaled by exp(logit_scale) of at most 100.
    attn = matmul(normalizeLastDim(q), normalizeLastDim(k).transpose(-2, -1));
    attn = mul(attn, exp(clamp(options.logitScale, { max: Math.log(100) })));
  } else {
    q = mul(q, Math.floor(C / numHeads) ** -0.5);
    attn = matmul(q, k.transpose(-2, -1));
  }
  attn = add(attn, relativePositionBias);

  if (shifted) {
    const mask = attentionMask(padH, padW, windowSize, shifts, shifting);
    attn = attn.view([-1, numWindows, numHeads, N, N]);
    attn = add(attn, mask.unsqueeze(1).unsqueeze(0));
    attn = attn.view([-1, numHeads, N, N]);
  }

  attn = softmax(attn, -1);
  // torchvision calls F.dropout without `training`, so these apply in eval mode too.
  attn = dropout(attn, { p: options.attentionDropout ?? 0 });
  v = matmul(attn, v).transpose(1, 2).reshape([-1, N, C]);
  x = linear(v, projWeight, options.projBias ?? null);
  x = dropout(x, { p: options.dropout ?? 0 });

  // Reverse the windows, the shift and the padding (a negative pad crops).
  x = x.view([-1, gh, gw, wh, ww, C]);
  x = x.permute([0, 1, 3, 2, 4, 5]).reshape([-1, padH, padW, C]);
  if (shifted) x = roll(x, shifts as unknown as number[], [1, 2]);
  return pad(x, [0, 0, 0, sub(0, padR) as unknown as number, 0, sub(0, padB) as unknown as number]);
});

export interface ShiftedWindowAttentionLayerOptions {
  qkvBias?: boolean;
  projBias?: boolean;
  attentionDropout?: number;
  dropout?: number;
}

/**
 * For each pair of tokens (i, j) of a window, the row of the bias table for their offset:
 * (dh + Wh - 1) * (2Ww - 1) + (dw + Ww - 1), flattened to [N * N] (int64).
 */
function relativePositionIndex(windowSize: readonly number[]): Tensor {
  const [wh, ww] = windowSize as [number, number];
  const n = wh * ww;
  const index = new BigInt64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const dh = Math.floor(i / ww) - Math.floor(j / ww);
      const dw = (i % ww) - (j % ww);
      index[i * n + j] = BigInt((dh + wh - 1) * (2 * ww - 1) + dw + ww - 1);
    }
  }
  return fromData('int64', [n * n], index);
}

/** Window attention with a learned table of relative position biases (Swin V1). */
export class ShiftedWindowAttention extends Module<[Tensor], Tensor> {
  declare relative_position_bias_table: Tensor;
  declare relative_position_index: Tensor;
  readonly windowSize: number[];
  readonly shiftSize: number[];
  readonly attentionDropout: number;
  readonly dropout: number;
  qkv: Linear;
  proj: Linear;

  constructor(
    dim: number,
    windowSize: readonly number[],
    shiftSize: readonly number[],
    readonly numHeads: number,
    options: ShiftedWindowAttentionLayerOptions = {},
  ) {
    super();
    if (windowSize.length !== 2 || shiftSize.length !== 2)
      throw new RangeError(
        `[ShiftedWindowAttention] window_size and shift_size must be of length 2 ([height, width]), got ` +
          `[${windowSize.join(', ')}] and [${shiftSize.join(', ')}]`,
      );
    this.windowSize = [...windowSize];
    this.shiftSize = [...shiftSize];
    this.attentionDropout = options.attentionDropout ?? 0;
    this.dropout = options.dropout ?? 0;
    this.qkv = new Linear(dim, dim * 3, { bias: options.qkvBias ?? true });
    this.proj = new Linear(dim, dim, { bias: options.projBias ?? true });
    this.defineRelativePositionBiasTable();
    this.registerBuffer('relative_position_index', relativePositionIndex(this.windowSize));
  }

  protected defineRelativePositionBiasTable(): void {
    const [wh, ww] = this.windowSize as [number, number];
    this.relative_position_bias_table = normal([(2 * wh - 1) * (2 * ww - 1), this.numHeads], 0.02, [-2, 2]);
  }

  /** The bias added to each window's attention logits: [1, heads, N, N]. */
  getRelativePositionBias(): Tensor {
    return tableBias(this);
  }

  forward(x: Tensor): Tensor {
    // From forward's `this`, so that tracing sees the table read (methods run on the module itself).
    return this.attend(x, tableBias(this));
  }

  /** Swin V2's logit scale; V1 has none. */
  protected logitScale(): Tensor | undefined {
    return undefined;
  }

  /** Window attention with `relativePositionBias`; tensors read in torchvision's argument order (get_attr order). */
  protected attend(x: Tensor, relativePositionBias: Tensor): Tensor {
    const logitScale = this.logitScale();
    return shiftedWindowAttention(
      x,
      this.qkv.weight,
      this.proj.weight,
      relativePositionBias,
      this.windowSize,
      this.numHeads,
      {
        shiftSize: this.shiftSize,
        attentionDropout: this.attentionDropout,
        dropout: this.dropout,
        qkvBias: this.qkv.bias,
        projBias: this.proj.bias,
        ...(logitScale === undefined ? {} : { logitScale }),
      },
    );
  }
}

/** V1's bias: the table's row for each pair of tokens. */
function tableBias(m: ShiftedWindowAttention): Tensor {
  return getRelativePositionBias(m.relative_position_bias_table, m.relative_position_index, m.windowSize);
}

/**
 * The log-spaced offsets Swin V2's bias MLP reads: [1, 2Wh-1, 2Ww-1, 2], each offset divided by
 * the window's extent, times 8, then sign(t) log2(|t| + 1) / 3, rounded to float32 at each step
 * as torch computes it.
 */
function relativeCoordsTable(windowSize: readonly number[]): Tensor {
  const [wh, ww] = windowSize as [number, number];
  const f = Math.fround;
  const scaled = (d: number, w: number): number => {
    const t = f(f(d / (w - 1)) * 8);
    return Math.sign(t) * f(f(Math.log2(f(Math.abs(t) + 1))) / 3);
  };
  const rows = Array.from({ length: 2 * wh - 1 }, (_, a) =>
    Array.from({ length: 2 * ww - 1 }, (_, b) => [scaled(a - wh + 1, wh), scaled(b - ww + 1, ww)]),
  );
  return tensor([rows]);
}

/** Swin V2's window attention: cosine similarity with a learned scale, biases from a small MLP. */
export class ShiftedWindowAttentionV2 extends ShiftedWindowAttention {
  declare relative_coords_table: Tensor;
  logit_scale: Tensor;
  cpb_mlp: Sequential<Tensor>;

  constructor(
    dim: number,
    windowSize: readonly number[],
    shiftSize: readonly number[],
    numHeads: number,
    options: ShiftedWindowAttentionLayerOptions = {},
  ) {
    super(dim, windowSize, shiftSize, numHeads, options);
    this.logit_scale = full([numHeads, 1, 1], Math.log(10));
    this.cpb_mlp = new Sequential<Tensor>(
      new Linear(2, 512, { bias: true }),
      new ReLU({ inplace: true }),
      new Linear(512, numHeads, { bias: false }),
    );
    // The key bias is unused (shiftedWindowAttention zeroes it); torchvision zeroes it here too.
    const bias = this.qkv.bias;
    if (bias !== null) {
      const data = Float32Array.from(bias.data as Float32Array).fill(0, dim, 2 * dim);
      this.qkv.bias = new Tensor('float32', bias.shape, data);
    }
  }

  protected override defineRelativePositionBiasTable(): void {
    this.registerBuffer('relative_coords_table', relativeCoordsTable(this.windowSize));
  }

  override getRelativePositionBias(): Tensor {
    return mlpBias(this);
  }

  override forward(x: Tensor): Tensor {
    return this.attend(x, mlpBias(this));
  }

  protected override logitScale(): Tensor {
    return this.logit_scale;
  }
}

/** V2's bias: the MLP's output for each offset, picked per pair of tokens, as 16 sigmoid(.). */
function mlpBias(m: ShiftedWindowAttentionV2): Tensor {
  const table = m.cpb_mlp.call(m.relative_coords_table).view([-1, m.numHeads]);
  const bias = getRelativePositionBias(table, m.relative_position_index, m.windowSize);
  return mul(16, sigmoid(bias));
}
