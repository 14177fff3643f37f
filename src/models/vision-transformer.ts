/** Vision Transformer B/16, B/32, L/16, L/32 and H/14, as torchvision 0.14's vision_transformer.py. */
import { GELU, ReLU, Tanh } from '../nn/layers/activation.js';
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Sequential } from '../nn/layers/containers.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { MultiheadAttention } from '../nn/layers/multihead-attention.js';
import { LayerNorm } from '../nn/layers/normalization.js';
import type { LoadStateDictOptions, LoadStateDictResult } from '../nn/state-dict.js';
import { fanIn, normal, uniform } from '../nn/init.js';
import { Module } from '../nn/module.js';
import { Conv2dNormActivation } from '../nn/vision-ops/conv2d-norm-activation.js';
import { MLP } from '../nn/vision-ops/mlp.js';
import { add } from '../ops/add.js';
import { assert } from '../ops/assert.js';
import { cat } from '../ops/cat.js';
import { eq } from '../ops/eq.js';
import { floordiv } from '../ops/floordiv.js';
import { getitem, slice } from '../ops/getitem.js';
import { mul } from '../ops/mul.js';
import { zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ClassificationTransform, type ModelOptions, registerModel } from './registry.js';

const layerNorm = (dim: number): LayerNorm => new LayerNorm(dim, { eps: 1e-6 });

/** The transformer's MLP: Linear ('0'), GELU, Dropout, Linear ('3'), Dropout, as torchvision's MLP. */
export class MLPBlock extends MLP {
  constructor(inDim: number, mlpDim: number, dropout: number) {
    super(inDim, [mlpDim, inDim], { activationLayer: () => new GELU(), dropout });
    for (const m of this.modules()) {
      if (!(m instanceof Linear)) continue;
      // xavier_uniform_ weights, biases normal with std 1e-6.
      m.weight = uniform(m.weight.shape, Math.sqrt(6 / (m.inFeatures + m.outFeatures)));
      if (m.bias !== null) m.bias = normal(m.bias.shape, 1e-6);
    }
  }
}

/** Pre-norm self-attention, then pre-norm MLP, each added to its input. */
export class EncoderBlock extends Module<[Tensor], Tensor> {
  ln_1: LayerNorm;
  self_attention: MultiheadAttention;
  dropout: Dropout;
  ln_2: LayerNorm;
  mlp: MLPBlock;

  constructor(
    readonly numHeads: number,
    hiddenDim: number,
    mlpDim: number,
    dropout: number,
    attentionDropout: number,
  ) {
    super();
    this.ln_1 = layerNorm(hiddenDim);
    this.self_attention = new MultiheadAttention(hiddenDim, numHeads, { dropout: attentionDropout, batchFirst: true });
    this.dropout = new Dropout(dropout);
    this.ln_2 = layerNorm(hiddenDim);
    this.mlp = new MLPBlock(hiddenDim, mlpDim, dropout);
  }

  forward(input: Tensor): Tensor {
    checkTokens(input);
    let x = this.ln_1.call(input);
    // Both results are taken (the trailing hole), as torchvision's `x, _ = ...` does: two getitem nodes.
    const [attended, ,] = this.self_attention.call(x, x, x, { needWeights: false });
    x = this.dropout.call(attended);
    x = add(x, input);
    const y = this.mlp.call(this.ln_2.call(x));
    return add(x, y);
  }
}

/** torchvision's rank check of the encoder's input (recorded as dim, eq, getattr, _assert). */
function checkTokens(input: Tensor): void {
  assert(eq(input.dim(), 3), ['Expected (batch_size, seq_length, hidden_dim) got ', input.shape]);
}

/** Position embedding, dropout, the encoder blocks `encoder_layer_{i}`, then a final LayerNorm. */
export class Encoder extends Module<[Tensor], Tensor> {
  pos_embedding: Tensor;
  dropout: Dropout;
  layers: Sequential<Tensor>;
  ln: LayerNorm;

  constructor(
    seqLength: number,
    numLayers: number,
    numHeads: number,
    hiddenDim: number,
    mlpDim: number,
    dropout: number,
    attentionDropout: number,
  ) {
    super();
    // From BERT.
    this.pos_embedding = normal([1, seqLength, hiddenDim], 0.02);
    this.dropout = new Dropout(dropout);
    const layers: Record<string, Module> = {};
    for (let i = 0; i < numLayers; i++)
      layers[`encoder_layer_${i}`] = new EncoderBlock(numHeads, hiddenDim, mlpDim, dropout, attentionDropout);
    this.layers = new Sequential<Tensor>(layers);
    this.ln = layerNorm(hiddenDim);
  }

  forward(input: Tensor): Tensor {
    checkTokens(input);
    input = add(input, this.pos_embedding);
    return this.ln.call(this.layers.call(this.dropout.call(input)));
  }
}

/** One convolution of a convolutional stem (https://arxiv.org/abs/2106.14881), as torchvision's ConvStemConfig. */
export interface ConvStemConfig {
  outChannels: number;
  kernelSize: number;
  stride: number;
  /** Default BatchNorm2d. */
  normLayer?: (channels: number) => Module;
  /** Default ReLU. */
  activationLayer?: () => Module;
}

export interface VisionTransformerOptions extends ModelOptions {
  /** Input height and width (default 224); the position embedding has one row per patch. */
  imageSize?: number;
  dropout?: number;
  attentionDropout?: number;
  /** A pre-logits Linear of this size with Tanh before the head (default none). */
  representationSize?: number | null;
  /** A convolutional stem instead of the patchify convolution. */
  convStemConfigs?: readonly ConvStemConfig[] | null;
}

export interface VisionTransformerConfig extends VisionTransformerOptions {
  patchSize: number;
  numLayers: number;
  numHeads: number;
  hiddenDim: number;
  mlpDim: number;
}

/** Vision Transformer (https://arxiv.org/abs/2010.11929), as torchvision's VisionTransformer. */
export class VisionTransformer extends Module<[Tensor], Tensor> {
  conv_proj: Module<[Tensor], Tensor>;
  class_token: Tensor;
  encoder: Encoder;
  heads: Sequential<Tensor>;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly hiddenDim: number;
  readonly seqLength: number;

  constructor(config: VisionTransformerConfig) {
    super();
    const { patchSize, numLayers, numHeads, hiddenDim, mlpDim } = config;
    const imageSize = config.imageSize ?? 224;
    if (imageSize % patchSize !== 0) {
      throw new RangeError(
        `[VisionTransformer] Input shape indivisible by patch size! imageSize ${imageSize} is not a multiple of ` +
          `patchSize ${patchSize}; pick an imageSize that is`,
      );
    }
    this.imageSize = imageSize;
    this.patchSize = patchSize;
    this.hiddenDim = hiddenDim;
    this.conv_proj = patchEmbedding(config);
    this.class_token = zeros([1, 1, hiddenDim]);
    this.seqLength = (imageSize / patchSize) ** 2 + 1;
    const dropout = config.dropout ?? 0;
    this.encoder = new Encoder(
      this.seqLength,
      numLayers,
      numHeads,
      hiddenDim,
      mlpDim,
      dropout,
      config.attentionDropout ?? 0,
    );
    const numClasses = config.numClasses ?? 1000;
    const representationSize = config.representationSize ?? null;
    if (representationSize === null) {
      this.heads = new Sequential<Tensor>({ head: new Linear(hiddenDim, numClasses) });
    } else {
      const preLogits = new Linear(hiddenDim, representationSize);
      preLogits.weight = normal(preLogits.weight.shape, Math.sqrt(1 / hiddenDim), [-2, 2]);
      preLogits.bias = zeros([representationSize]);
      this.heads = new Sequential<Tensor>({
        pre_logits: preLogits,
        act: new Tanh(),
        head: new Linear(representationSize, numClasses),
      });
    }
    const head = this.heads.at(-1) as Linear;
    head.weight = zeros(head.weight.shape);
    head.bias = zeros([numClasses]);
  }

  /** (N, 3, H, W) -> (N, (H / p) * (W / p), hiddenDim): patches as tokens. */
  private processInput(x: Tensor): Tensor {
    const [n, , h, w] = x.shape;
    const p = this.patchSize;
    const fix = ` Resize the input to ${this.imageSize}x${this.imageSize}, or build the model with that imageSize.`;
    assert(eq(h!, this.imageSize), ['Wrong image height! Expected ', this.imageSize, ' but got ', h!, '!', fix]);
    assert(eq(w!, this.imageSize), ['Wrong image width! Expected ', this.imageSize, ' but got ', w!, '!', fix]);
    const nH = floordiv(h!, p);
    const nW = floordiv(w!, p);
    x = this.conv_proj.call(x);
    x = x.reshape([n!, this.hiddenDim, mul(nH, nW)]);
    // The self-attention layers take (N, S, E): sequence second, embedding last.
    return x.permute([0, 2, 1]);
  }

  forward(x: Tensor): Tensor {
    x = this.processInput(x);
    const n = x.shape[0]!;
    // The class token, once per image, before the patches.
    const batchClassToken = this.class_token.expand([n, -1, -1]);
    x = cat([batchClassToken, x], 1);
    x = this.encoder.call(x);
    // The class token's output classifies, as in language transformers.
    x = getitem(x, [slice(), 0]);
    return this.heads.call(x);
  }

  /**
   * Also accepts checkpoints saved before torchvision 0.13's MLPBlock (its published ViT weights):
   * their `mlp.linear_1` and `mlp.linear_2` are today's `mlp.0` and `mlp.3`, as torchvision renames them.
   */
  override loadStateDict(
    stateDict: Map<string, Tensor> | Record<string, Tensor>,
    options: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const entries = stateDict instanceof Map ? [...stateDict] : Object.entries(stateDict);
    const renamed = entries.map(([key, t]): [string, Tensor] => [
      key.replace(
        /\.mlp\.linear_([12])\.(weight|bias)$/,
        (_, i: string, kind: string) => `.mlp.${3 * (Number(i) - 1)}.${kind}`,
      ),
      t,
    ]);
    return super.loadStateDict(new Map(renamed), options);
  }
}

/** The patchify convolution (kernel and stride patchSize), or a convolutional stem ending in a 1×1 conv. */
function patchEmbedding(config: VisionTransformerConfig): Module<[Tensor], Tensor> {
  const { hiddenDim, patchSize } = config;
  const stem = config.convStemConfigs ?? null;
  if (stem === null) {
    const conv = new Conv2d(3, hiddenDim, patchSize, { stride: patchSize });
    conv.weight = normal(conv.weight.shape, Math.sqrt(1 / fanIn(conv.weight.shape)), [-2, 2]);
    conv.bias = zeros([hiddenDim]);
    return conv;
  }
  const layers: Record<string, Module> = {};
  let channels = 3;
  stem.forEach((c, i) => {
    layers[`conv_bn_relu_${i}`] = new Conv2dNormActivation(channels, c.outChannels, c.kernelSize, {
      stride: c.stride,
      normLayer: c.normLayer ?? ((ch: number) => new BatchNorm2d(ch)),
      activationLayer: c.activationLayer ?? (() => new ReLU()),
    });
    channels = c.outChannels;
  });
  const last = new Conv2d(channels, hiddenDim, 1);
  last.weight = normal(last.weight.shape, Math.sqrt(2 / hiddenDim));
  last.bias = zeros([hiddenDim]);
  layers.conv_last = last;
  return new Sequential<Tensor>(layers);
}

/** Patch size, layers, heads, hidden and MLP sizes, and the preset transform of the default weights. */
const VITS: [string, number, number, number, number, number, ClassificationTransform][] = [
  ['vit_b_16', 16, 12, 12, 768, 3072, { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' }],
  ['vit_b_32', 32, 12, 12, 768, 3072, { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' }],
  ['vit_l_16', 16, 24, 16, 1024, 4096, { resizeSize: 242, cropSize: 224, interpolation: 'bilinear' }],
  ['vit_l_32', 32, 24, 16, 1024, 4096, { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' }],
  // Default weights IMAGENET1K_SWAG_E2E_V1: 518x518, bicubic.
  ['vit_h_14', 14, 32, 16, 1280, 5120, { resizeSize: 518, cropSize: 518, interpolation: 'bicubic' }],
];

for (const [name, patchSize, numLayers, numHeads, hiddenDim, mlpDim, transform] of VITS) {
  registerModel({
    name,
    build: (o: VisionTransformerOptions = {}) =>
      new VisionTransformer({ ...o, patchSize, numLayers, numHeads, hiddenDim, mlpDim }),
    options: ['imageSize', 'dropout', 'attentionDropout', 'representationSize', 'convStemConfigs'],
    // torchvision's builder sets image_size to the weights' minimum size: 518 for vit_h_14's SWAG weights.
    ...(name === 'vit_h_14' ? { checkpointOptions: { imageSize: 518 } } : {}),
    transform,
  });
}
