/**
 * Swin Transformer V1 (tiny, small, base) and V2 (tiny, small, base), as torchvision 0.14's
 * swin_transformer.py. Feature maps run channels-last ([B, H, W, C]) from the patch embedding to
 * the final norm. The attention and its wrapped functions are in swin-attention.ts.
 */
import { wrap } from '../fx/wrap.js';
import { GELU } from '../nn/layers/activation.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Sequential } from '../nn/layers/containers.js';
import { Flatten } from '../nn/layers/flatten.js';
import { Linear } from '../nn/layers/linear.js';
import { LayerNorm } from '../nn/layers/normalization.js';
import { AdaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { MLP } from '../nn/vision-ops/mlp.js';
import { Permute } from '../nn/vision-ops/permute.js';
import { StochasticDepth } from '../nn/vision-ops/stochastic-depth.js';
import { add } from '../ops/add.js';
import { cat } from '../ops/cat.js';
import { floordiv } from '../ops/floordiv.js';
import { getitem, slice } from '../ops/getitem.js';
import { mul } from '../ops/mul.js';
import { pad } from '../ops/pad.js';
import { size } from '../ops/size.js';
import { sub } from '../ops/sub.js';
import type { Tensor } from '../tensor/tensor.js';
import { initWeights, truncNormal } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';
import {
  ShiftedWindowAttention,
  ShiftedWindowAttentionV2,
  type ShiftedWindowAttentionLayerOptions,
} from './swin-attention.js';

export {
  ShiftedWindowAttention,
  ShiftedWindowAttentionV2,
  shiftedWindowAttention,
  type ShiftedWindowAttentionLayerOptions,
  type ShiftedWindowAttentionOptions,
} from './swin-attention.js';

type NormLayer = (features: number) => Module<[Tensor], Tensor>;

const layerNorm: NormLayer = (features) => new LayerNorm(features, { eps: 1e-5 });

/**
 * Pads H and W of a [..., H, W, C] map to even sizes and stacks its 2×2 neighbours:
 * [..., H/2, W/2, 4C]. Wrapped, as torchvision wraps it: one `_patch_merging_pad` node.
 */
export const patchMergingPad = wrap(function _patch_merging_pad(x: Tensor): Tensor {
  // Sizes through ops (graph values when lowered), so that one compiled graph serves every size.
  const rank = x.shape.length;
  const odd = (dim: number): number => sub(size(x, dim), mul(floordiv(size(x, dim), 2), 2)) as unknown as number;
  x = pad(x, [0, 0, 0, odd(rank - 2), 0, odd(rank - 3)]);
  const at = (h: number, w: number): Tensor => getitem(x, ['...', slice(h, null, 2), slice(w, null, 2), slice()]);
  return cat([at(0, 0), at(1, 0), at(0, 1), at(1, 1)], -1);
});

/** Patch merging: 2×2 neighbours stacked, normalised, then projected from 4C to 2C channels. */
export class PatchMerging extends Module<[Tensor], Tensor> {
  reduction: Linear;
  norm: Module<[Tensor], Tensor>;

  constructor(
    readonly dim: number,
    normLayer: NormLayer = layerNorm,
  ) {
    super();
    this.reduction = new Linear(4 * dim, 2 * dim, { bias: false });
    this.norm = normLayer(4 * dim);
  }

  forward(x: Tensor): Tensor {
    x = patchMergingPad(x);
    x = this.norm.call(x);
    return this.reduction.call(x);
  }
}

/** Swin V2's patch merging: the projection comes before the norm, which is over 2C channels. */
export class PatchMergingV2 extends PatchMerging {
  constructor(dim: number, normLayer: NormLayer = layerNorm) {
    super(dim, normLayer);
    // A norm holds no random numbers, so replacing the one made for 4C channels changes no draw.
    this.norm = normLayer(2 * dim);
  }

  override forward(x: Tensor): Tensor {
    x = patchMergingPad(x);
    x = this.reduction.call(x);
    return this.norm.call(x);
  }
}

export interface SwinTransformerBlockOptions {
  mlpRatio?: number;
  dropout?: number;
  attentionDropout?: number;
  stochasticDepthProb?: number;
  normLayer?: NormLayer;
}

type AttentionLayer = new (
  dim: number,
  windowSize: readonly number[],
  shiftSize: readonly number[],
  numHeads: number,
  options: ShiftedWindowAttentionLayerOptions,
) => ShiftedWindowAttention;

/** Pre-norm block: x + attn(norm1(x)), then x + mlp(norm2(x)), each branch with stochastic depth. */
export class SwinTransformerBlock extends Module<[Tensor], Tensor> {
  norm1: Module<[Tensor], Tensor>;
  attn: ShiftedWindowAttention;
  stochastic_depth: StochasticDepth;
  norm2: Module<[Tensor], Tensor>;
  mlp: MLP;

  constructor(
    dim: number,
    numHeads: number,
    windowSize: readonly number[],
    shiftSize: readonly number[],
    options: SwinTransformerBlockOptions = {},
    attnLayer: AttentionLayer = ShiftedWindowAttention,
  ) {
    super();
    const normLayer = options.normLayer ?? layerNorm;
    const dropout = options.dropout ?? 0;
    this.norm1 = normLayer(dim);
    this.attn = new attnLayer(dim, windowSize, shiftSize, numHeads, {
      attentionDropout: options.attentionDropout ?? 0,
      dropout,
    });
    this.stochastic_depth = new StochasticDepth(options.stochasticDepthProb ?? 0, 'row');
    this.norm2 = normLayer(dim);
    this.mlp = new MLP(dim, [Math.trunc(dim * (options.mlpRatio ?? 4)), dim], {
      activationLayer: () => new GELU(),
      dropout,
    });
    // torchvision's xavier_uniform_ here is overwritten by SwinTransformer's trunc_normal_.
  }

  forward(x: Tensor): Tensor {
    x = add(x, this.stochastic_depth.call(this.attn.call(this.norm1.call(x))));
    return add(x, this.stochastic_depth.call(this.mlp.call(this.norm2.call(x))));
  }
}

/** Post-norm block (Swin V2): x + norm1(attn(x)), then x + norm2(mlp(x)). */
export class SwinTransformerBlockV2 extends SwinTransformerBlock {
  constructor(
    dim: number,
    numHeads: number,
    windowSize: readonly number[],
    shiftSize: readonly number[],
    options: SwinTransformerBlockOptions = {},
    attnLayer: AttentionLayer = ShiftedWindowAttentionV2,
  ) {
    super(dim, numHeads, windowSize, shiftSize, options, attnLayer);
  }

  override forward(x: Tensor): Tensor {
    x = add(x, this.stochastic_depth.call(this.norm1.call(this.attn.call(x))));
    return add(x, this.stochastic_depth.call(this.norm2.call(this.mlp.call(x))));
  }
}

export interface SwinTransformerOptions extends ModelOptions {
  mlpRatio?: number;
  dropout?: number;
  attentionDropout?: number;
  stochasticDepthProb?: number;
  normLayer?: NormLayer;
  block?: typeof SwinTransformerBlock;
  downsampleLayer?: new (dim: number, normLayer: NormLayer) => Module<[Tensor], Tensor>;
}

/** The architecture: patch size, embedding width, blocks and heads per stage, window size. */
export interface SwinConfig {
  patchSize: readonly number[];
  embedDim: number;
  depths: readonly number[];
  numHeads: readonly number[];
  windowSize: readonly number[];
}

export class SwinTransformer extends Module<[Tensor], Tensor> {
  features: Sequential<Tensor>;
  norm: Module<[Tensor], Tensor>;
  permute = new Permute([0, 3, 1, 2]);
  avgpool = new AdaptiveAvgPool2d(1);
  flatten = new Flatten(1);
  head: Linear;

  constructor(config: SwinConfig, options: SwinTransformerOptions = {}) {
    super();
    const { patchSize, embedDim, depths, numHeads, windowSize } = config;
    const normLayer = options.normLayer ?? layerNorm;
    const block = options.block ?? SwinTransformerBlock;
    const downsampleLayer = options.downsampleLayer ?? PatchMerging;
    const sdProb = options.stochasticDepthProb ?? 0.1;
    const [ph, pw] = patchSize as [number, number];
    // Split the image into non-overlapping patches.
    const layers: Module[] = [
      new Sequential<Tensor>(
        new Conv2d(3, embedDim, [ph, pw], { stride: [ph, pw] }),
        new Permute([0, 2, 3, 1]),
        normLayer(embedDim),
      ),
    ];
    const totalBlocks = depths.reduce((a, b) => a + b, 0);
    let blockId = 0;
    depths.forEach((depth, stage) => {
      const dim = embedDim * 2 ** stage;
      const blocks: Module[] = [];
      for (let i = 0; i < depth; i++) {
        // Stochastic depth grows linearly from 0 at the first block to sdProb at the last.
        const stochasticDepthProb = (sdProb * blockId) / (totalBlocks - 1);
        const shiftSize = windowSize.map((w) => (i % 2 === 0 ? 0 : Math.floor(w / 2)));
        blocks.push(
          new block(dim, numHeads[stage]!, windowSize, shiftSize, {
            mlpRatio: options.mlpRatio ?? 4,
            dropout: options.dropout ?? 0,
            attentionDropout: options.attentionDropout ?? 0,
            stochasticDepthProb,
            normLayer,
          }),
        );
        blockId++;
      }
      layers.push(new Sequential<Tensor>(...blocks));
      if (stage < depths.length - 1) layers.push(new downsampleLayer(dim, normLayer));
    });
    this.features = new Sequential<Tensor>(...layers);
    const numFeatures = embedDim * 2 ** (depths.length - 1);
    this.norm = normLayer(numFeatures);
    this.head = new Linear(numFeatures, options.numClasses ?? 1000);
    initWeights(this, { linear: truncNormal(0.02), zeroLinearBias: true });
  }

  forward(x: Tensor): Tensor {
    x = this.features.call(x);
    x = this.norm.call(x);
    x = this.permute.call(x);
    x = this.avgpool.call(x);
    x = this.flatten.call(x);
    return this.head.call(x);
  }
}

/** torchvision's three sizes, the same for V1 and V2 but for the window (7 and 8). */
const SIZES = {
  t: { embedDim: 96, depths: [2, 2, 6, 2], numHeads: [3, 6, 12, 24], stochasticDepthProb: 0.2 },
  s: { embedDim: 96, depths: [2, 2, 18, 2], numHeads: [3, 6, 12, 24], stochasticDepthProb: 0.3 },
  b: { embedDim: 128, depths: [2, 2, 18, 2], numHeads: [4, 8, 16, 32], stochasticDepthProb: 0.5 },
} as const;

/** The resize of each model's published weights' transform (crop 224 for V1, 256 for V2; bicubic). */
const RESIZE: Record<string, number> = {
  swin_t: 232,
  swin_s: 246,
  swin_b: 238,
  swin_v2_t: 260,
  swin_v2_s: 260,
  swin_v2_b: 272,
};

for (const [name, resizeSize] of Object.entries(RESIZE)) {
  const v2 = name.startsWith('swin_v2');
  const { stochasticDepthProb, ...size } = SIZES[name.slice(-1) as keyof typeof SIZES];
  const window = v2 ? 8 : 7;
  const config: SwinConfig = {
    patchSize: [4, 4],
    embedDim: size.embedDim,
    depths: [...size.depths],
    numHeads: [...size.numHeads],
    windowSize: [window, window],
  };
  registerModel({
    name,
    // torchvision's builders fix stochastic_depth_prob (passing it again is an error there).
    build: (o: SwinTransformerOptions = {}) =>
      new SwinTransformer(config, {
        ...o,
        stochasticDepthProb,
        ...(v2 ? { block: SwinTransformerBlockV2, downsampleLayer: PatchMergingV2 } : {}),
      }),
    options: ['mlpRatio', 'dropout', 'attentionDropout'],
    transform: { resizeSize, cropSize: v2 ? 256 : 224, interpolation: 'bicubic' },
  });
}
