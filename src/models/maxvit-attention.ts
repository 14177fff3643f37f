/**
 * MaxViT's attention over windows and grids, as torchvision 0.14's maxvit.py: the relative
 * positional attention, the partition and departition of feature maps into P×P windows, and the
 * layer that applies attention and an MLP to them.
 */
import { Dropout } from '../nn/layers/dropout.js';
import { Sequential } from '../nn/layers/containers.js';
import { Identity, Linear } from '../nn/layers/linear.js';
import { LayerNorm } from '../nn/layers/normalization.js';
import { normal } from '../nn/init.js';
import { Module } from '../nn/module.js';
import { StochasticDepth } from '../nn/vision-ops/stochastic-depth.js';
import { add } from '../ops/add.js';
import { einsum } from '../ops/einsum.js';
import { floordiv } from '../ops/floordiv.js';
import { getitem } from '../ops/getitem.js';
import { mul } from '../ops/mul.js';
import { softmax } from '../ops/softmax.js';
import { chunk } from '../ops/split.js';
import { swapaxes } from '../ops/swapaxes.js';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * For every pair of positions in a `height`×`width` window, the row of their offset in the bias
 * table: (dh + height - 1) * (2 * width - 1) + (dw + width - 1), as torchvision computes it.
 */
export function getRelativePositionIndex(height: number, width: number): Tensor {
  const n = height * width;
  const rows = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      const dh = Math.floor(i / width) - Math.floor(j / width);
      const dw = (i % width) - (j % width);
      return (dh + height - 1) * (2 * width - 1) + (dw + width - 1);
    }),
  );
  return tensor(rows, { dtype: 'int64' });
}

/** Multi-head self-attention within each group of P positions, with a learnt bias per relative offset. */
export class RelativePositionalMultiHeadAttention extends Module<[Tensor], Tensor> {
  readonly n_heads: number;
  readonly head_dim: number;
  readonly size: number;
  readonly max_seq_len: number;
  readonly scale_factor: number;
  to_qkv: Linear;
  merge: Linear;
  relative_position_bias_table: Tensor;
  declare relative_position_index: Tensor;

  constructor(featDim: number, headDim: number, maxSeqLen: number) {
    super();
    if (featDim % headDim !== 0) throw new RangeError(`feat_dim: ${featDim} must be divisible by head_dim: ${headDim}`);
    this.n_heads = Math.floor(featDim / headDim);
    this.head_dim = headDim;
    this.size = Math.floor(Math.sqrt(maxSeqLen));
    this.max_seq_len = maxSeqLen;
    this.to_qkv = new Linear(featDim, this.n_heads * this.head_dim * 3);
    // torchvision scales by the feature size, not the head size.
    this.scale_factor = featDim ** -0.5;
    this.merge = new Linear(this.head_dim * this.n_heads, featDim);
    // trunc_normal_(std=0.02) truncates at ±2, 100 standard deviations out: a plain normal.
    this.relative_position_bias_table = normal([(2 * this.size - 1) ** 2, this.n_heads], 0.02);
    this.registerBuffer('relative_position_index', getRelativePositionIndex(this.size, this.size));
  }

  /**
   * The bias of every head for every pair of positions, [1, heads, P, P]. `table` is the bias
   * table as forward reads it (traced: its get_attr node, where torch.fx records it). The index
   * buffer is read here, on the module itself: torch.fx does not trace buffers, so its flattened
   * view is a constant of the graph there too, not a node.
   */
  getRelativePositionalBias(table: Tensor): Tensor {
    const biasIndex = this.relative_position_index.view([-1]);
    const relativeBias = getitem(table, biasIndex).view([this.max_seq_len, this.max_seq_len, -1]);
    return relativeBias.permute([2, 0, 1]).contiguous().unsqueeze(0);
  }

  /** x: [B, G, P, D] (batch, groups, positions per group, features); the same layout out. */
  forward(x: Tensor): Tensor {
    const [B, G, P, D] = x.shape;
    const [H, DH] = [this.n_heads, this.head_dim];
    const [q0, k0, v0] = chunk(this.to_qkv.call(x), 3, -1);
    const q = q0!.reshape([B!, G!, P!, H, DH]).permute([0, 1, 3, 2, 4]);
    let k = k0!.reshape([B!, G!, P!, H, DH]).permute([0, 1, 3, 2, 4]);
    const v = v0!.reshape([B!, G!, P!, H, DH]).permute([0, 1, 3, 2, 4]);
    k = mul(k, this.scale_factor);
    let dotProd = einsum('B G H I D, B G H J D -> B G H I J', q, k);
    const posBias = this.getRelativePositionalBias(this.relative_position_bias_table);
    dotProd = softmax(add(dotProd, posBias), -1);
    let out = einsum('B G H I J, B G H J D -> B G H I D', dotProd, v);
    out = out.permute([0, 1, 3, 2, 4]).reshape([B!, G!, P!, D!]);
    return this.merge.call(out);
  }
}

/** Swaps two axes, as `torch.swapaxes`. */
export class SwapAxes extends Module<[Tensor], Tensor> {
  constructor(
    readonly a: number,
    readonly b: number,
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return swapaxes(x, this.a, this.b);
  }
}

/** [B, C, H, W] into non-overlapping p×p windows: [B, (H/p)·(W/p), p·p, C]. */
export class WindowPartition extends Module<[Tensor, number], Tensor> {
  forward(x: Tensor, p: number): Tensor {
    const [B, C, H, W] = x.shape;
    // F.floordiv and F.mul, not JS arithmetic: traced, H and W are graph values.
    x = x.reshape([B!, C!, floordiv(H!, p), p, floordiv(W!, p), p]);
    x = x.permute([0, 2, 4, 3, 5, 1]);
    return x.reshape([B!, mul(floordiv(H!, p), floordiv(W!, p)), p * p, C!]);
  }
}

/** Windows [B, hp·wp, p·p, C] back into a feature map [B, C, hp·p, wp·p]. */
export class WindowDepartition extends Module<[Tensor, number, number, number], Tensor> {
  forward(x: Tensor, p: number, hPartitions: number, wPartitions: number): Tensor {
    const [B, , , C] = x.shape;
    x = x.reshape([B!, hPartitions, wPartitions, p, p, C!]);
    x = x.permute([0, 5, 1, 3, 2, 4]);
    return x.reshape([B!, C!, hPartitions * p, wPartitions * p]);
  }
}

export interface PartitionAttentionOptions {
  inChannels: number;
  headDim: number;
  partitionSize: number;
  /** 'window': attention within each P×P window; 'grid': across a P×P grid spanning the map. */
  partitionType: 'grid' | 'window';
  /** The feature map's size, fixed at construction (the partition counts follow from it). */
  gridSize: readonly [number, number];
  mlpRatio: number;
  activationLayer: () => Module<[Tensor], Tensor>;
  normLayer: (channels: number) => Module<[Tensor], Tensor>;
  attentionDropout: number;
  mlpDropout: number;
  pStochasticDropout: number;
}

/** Partitions the map, applies attention and an MLP (each pre-normed, residual), and departitions. */
export class PartitionAttentionLayer extends Module<[Tensor], Tensor> {
  readonly n_heads: number;
  readonly head_dim: number;
  readonly n_partitions: number;
  readonly partition_type: 'grid' | 'window';
  readonly grid_size: readonly [number, number];
  readonly p: number;
  readonly g: number;
  partition_op = new WindowPartition();
  departition_op = new WindowDepartition();
  partition_swap: Module<[Tensor], Tensor>;
  departition_swap: Module<[Tensor], Tensor>;
  attn_layer: Sequential<Tensor>;
  mlp_layer: Sequential<Tensor>;
  stochastic_dropout: StochasticDepth;

  constructor(o: PartitionAttentionOptions) {
    super();
    this.n_heads = Math.floor(o.inChannels / o.headDim);
    this.head_dim = o.headDim;
    this.n_partitions = Math.floor(o.gridSize[0] / o.partitionSize);
    this.partition_type = o.partitionType;
    this.grid_size = o.gridSize;
    if (o.partitionType !== 'grid' && o.partitionType !== 'window')
      throw new RangeError("partition_type must be either 'grid' or 'window'");
    [this.p, this.g] =
      o.partitionType === 'window' ? [o.partitionSize, this.n_partitions] : [this.n_partitions, o.partitionSize];
    this.partition_swap = o.partitionType === 'grid' ? new SwapAxes(-2, -3) : new Identity();
    this.departition_swap = o.partitionType === 'grid' ? new SwapAxes(-2, -3) : new Identity();
    this.attn_layer = new Sequential<Tensor>(
      o.normLayer(o.inChannels),
      // partitionSize² positions per group either way: the grid case swaps its axes first.
      new RelativePositionalMultiHeadAttention(o.inChannels, o.headDim, o.partitionSize ** 2),
      new Dropout(o.attentionDropout),
    );
    this.mlp_layer = new Sequential<Tensor>(
      new LayerNorm(o.inChannels),
      new Linear(o.inChannels, o.inChannels * o.mlpRatio),
      o.activationLayer(),
      new Linear(o.inChannels * o.mlpRatio, o.inChannels),
      new Dropout(o.mlpDropout),
    );
    this.stochastic_dropout = new StochasticDepth(o.pStochasticDropout, 'row');
  }

  /** x: [B, C, H, W] with H, W the grid size; the same layout out. */
  forward(x: Tensor): Tensor {
    const [gh, gw] = [Math.floor(this.grid_size[0] / this.p), Math.floor(this.grid_size[1] / this.p)];
    if (this.grid_size[0] % this.p !== 0 || this.grid_size[1] % this.p !== 0) {
      throw new RangeError(
        `Grid size must be divisible by partition size. Got grid size of (${this.grid_size.join(', ')}) and partition size of ${this.p}`,
      );
    }
    x = this.partition_op.call(x, this.p);
    x = this.partition_swap.call(x);
    x = add(x, this.stochastic_dropout.call(this.attn_layer.call(x)));
    x = add(x, this.stochastic_dropout.call(this.mlp_layer.call(x)));
    x = this.departition_swap.call(x);
    return this.departition_op.call(x, this.p, gh, gw);
  }
}
