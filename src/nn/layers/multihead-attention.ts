/**
 * `nn.MultiheadAttention`, as torchvision's ViT uses it: packed input projections
 * (`in_proj_weight`, `in_proj_bias`), an `out_proj` Linear, optional batch-first layout. The
 * forward is written with ops, so tracing it through (for shapes or export) works as for any model.
 */
import * as F from '../../ops/functional.js';
import { slice } from '../../ops/getitem.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { uniform } from '../init.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';
import { Linear } from './linear.js';

export interface MultiheadAttentionOptions {
  dropout?: number;
  bias?: boolean;
  /** Inputs and outputs are (N, L, E) instead of (L, N, E). */
  batchFirst?: boolean;
}

export interface AttentionCallOptions {
  /** Also return the attention weights, averaged over heads (default true, as PyTorch). */
  needWeights?: boolean;
  /** Added to the attention scores (float), or true where attention is not allowed (bool); (L, S). */
  attnMask?: Tensor | null;
}

export class MultiheadAttention extends Module<
  [Tensor, Tensor, Tensor, AttentionCallOptions?],
  [Tensor, Tensor | null]
> {
  in_proj_weight: Tensor;
  in_proj_bias: Tensor | null;
  out_proj: Linear;
  readonly headDim: number;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    readonly options: MultiheadAttentionOptions = {},
  ) {
    super();
    if (embedDim % numHeads !== 0)
      throw new RangeError(`[MultiheadAttention] embed_dim ${embedDim} must be divisible by num_heads ${numHeads}`);
    this.headDim = embedDim / numHeads;
    // xavier_uniform for the packed projection, zero biases, as PyTorch initialises them.
    this.in_proj_weight = uniform([3 * embedDim, embedDim], Math.sqrt(6 / (4 * embedDim)));
    this.in_proj_bias = options.bias === false ? null : zeros([3 * embedDim]);
    this.out_proj = new Linear(embedDim, embedDim, { bias: options.bias !== false });
    if (this.out_proj.bias !== null) this.out_proj.bias = zeros([embedDim]);
  }

  /**
   * Projects (N, L, E) with rows [i*E, (i+1)*E) of the packed weight, then splits heads: (N, H, L, D).
   * The packed tensors are arguments, read by `forward`: traced, that is where `this` gives their
   * get_attr values, so the slices are recorded instead of becoming constants.
   */
  private project(x: Tensor, i: number, weight: Tensor, bias: Tensor | null): Tensor {
    const e = this.embedDim;
    const w = weight.getitem(slice(i * e, (i + 1) * e));
    const b = bias === null ? null : bias.getitem(slice(i * e, (i + 1) * e));
    // -1 for the batch: a leaf is lowered with its sizes as constants, and this keeps the batch open.
    const l = x.shape[1]!;
    return F.linear(x, w, b).reshape([-1, l, this.numHeads, this.headDim]).transpose(1, 2);
  }

  forward(query: Tensor, key: Tensor, value: Tensor, call: AttentionCallOptions = {}): [Tensor, Tensor | null] {
    // Work batch-first: (N, L, E).
    const toBatchFirst = (t: Tensor): Tensor => (this.options.batchFirst === true ? t : t.transpose(0, 1));
    const [weight, bias] = [this.in_proj_weight, this.in_proj_bias];
    const [q, k, v] = [
      this.project(toBatchFirst(query), 0, weight, bias),
      this.project(toBatchFirst(key), 1, weight, bias),
      this.project(toBatchFirst(value), 2, weight, bias),
    ];
    let scores = F.matmul(q, k.transpose(-2, -1)).mul(1 / Math.sqrt(this.headDim));
    const mask = call.attnMask ?? null;
    if (mask !== null) scores = mask.dtype === 'bool' ? scores.maskedFill(mask, -Infinity) : scores.add(mask);
    let weights = F.softmax(scores, -1);
    weights = F.dropout(weights, { p: this.options.dropout ?? 0, training: this.training });
    const l = q.shape[2]!;
    const attended = F.matmul(weights, v).transpose(1, 2).reshape([-1, l, this.embedDim]);
    const out = this.out_proj.call(attended);
    const averaged = call.needWeights === false ? null : weights.mean(1);
    return [this.options.batchFirst === true ? out : out.transpose(0, 1), averaged];
  }
}
registerBuiltinLayer(MultiheadAttention);
