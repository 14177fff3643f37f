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
 * For each position along one axis of a padded map of `size`, the region of the shifted layout it
 * belongs to, as torchvision's mask assigns the slices (0, -window), (-window, -shift), (-shift, None)
 * in turn, the last assignment winning.
 */
function regionIds(size: number, window: number, shift: number): number[] {
  const at = (i: number): number => (i < 0 ? Math.max(size + i, 0) : Math.min(i, size));
  const ids = Array<number>(size).fill(0);
  const bounds: [number, number | null][] = [
    [0, -window],
    [-window, -shift],
    [-shift, null],
  ];
  // Python's -0 is 0: a zero shift makes the last slice the whole axis.
  bounds.forEach(([start, stop], region) => {
    for (let i = at(start); i < (stop === null ? size : at(stop)); i++) ids[i] = region;
  });
  return ids;
}

/**
 * -100 between tokens of one window that come from different regions of the unshifted map, 0
 * elsewhere: [windows, N, N]. Built from two small constants of region ids, one per axis.
 */
function attentionMask(padH: number, padW: number, windowSize: readonly number[], shiftSize: number[]): Tensor {
  const [wh, ww] = windowSize as [number, number];
  const rows = tensor(regionIds(padH, wh, shiftSize[0]!).map((id) => [3 * id]));
  const cols = tensor([regionIds(padW, ww, shiftSize[1]!)]);
  let mask = add(rows, cols).view([padH / wh, wh, padW / ww, ww]);
  mask = mask.permute([0, 2, 1, 3]).reshape([(padH / wh) * (padW / ww), wh * ww]);
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
  const [, H, W, C] = input.shape as [number, number, number, number];
  const padR = (ww - (W % ww)) % ww;
  const padB = (wh - (H % wh)) % wh;
  let x = pad(input, [0, 0, 0, padR, 0, padB]);
  const [, padH, padW] = x.shape as [number, number, number];

  const shiftSize = [...options.shiftSize];
  // A window as large as the map has nothing to shift.
  if (wh >= padH) shiftSize[0] = 0;
  if (ww >= padW) shiftSize[1] = 0;
  const shifted = shiftSize[0]! + shiftSize[1]! > 0;
  if (shifted) x = roll(x, [-shiftSize[0]!, -shiftSize[1]!], [1, 2]);

  // Partition windows: [B * windows, N, C] (-1 for the batch, which a compiled graph leaves open).
  const numWindows = (padH / wh) * (padW / ww);
  const N = wh * ww;
  x = x.view([-1, padH / wh, wh, padW / ww, ww, C]);
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
    const mask = attentionMask(padH, padW, windowSize, shiftSize);
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

  // Reverse the windows, the shift and the padding.
  x = x.view([-1, padH / wh, padW / ww, wh, ww, C]);
  x = x.permute([0, 1, 3, 2, 4, 5]).reshape([-1, padH, padW, C]);
  if (shifted) x = roll(x, [shiftSize[0]!, shiftSize[1]!], [1, 2]);
  return getitem(x, [slice(), slice(null, H), slice(null, W), slice()]).contiguous();
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
    return shiftedWindowAttention(x, this.qkv.weight, this.proj.weight, relativePositionBias, this.windowSize,
      this.numHeads, {
        shiftSize: this.shiftSize,
        attentionDropout: this.attentionDropout,
        dropout: this.dropout,
        qkvBias: this.qkv.bias,
        projBias: this.proj.bias,
        ...(logitScale === undefined ? {} : { logitScale }),
      });
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
