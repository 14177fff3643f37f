/**
 * Detection backbones, as torchvision 0.14's models/detection/backbone_utils.py: a classifier's
 * feature stages (IntermediateLayerGetter) under a FeaturePyramidNetwork, with the first stages
 * frozen, and FrozenBatchNorm2d in place of BatchNorm2d for pretrained weights.
 */
import { BatchNorm2d } from '../../nn/layers/batch-norm.js';
import { Module, setOwnField } from '../../nn/module.js';
import {
  type ExtraFPNBlock,
  FeaturePyramidNetwork,
  LastLevelMaxPool,
} from '../../nn/vision-ops/feature-pyramid-network.js';
import { Conv2dNormActivation } from '../../nn/vision-ops/conv2d-norm-activation.js';
import { FrozenBatchNorm2d } from '../../nn/vision-ops/frozen-batch-norm.js';
import type { StateDict } from '../../nn/state-dict.js';
import type { Tensor } from '../../tensor/tensor.js';
import { warn } from '../../warnings.js';
import { IntermediateLayerGetter } from '../intermediate-layer-getter.js';
import { InvertedResidualV3, type MobileNetV3 } from '../mobilenet-v3.js';
import { getModelEntry } from '../registry.js';
import { ResNet } from '../resnet.js';

/** A norm layer for `numFeatures` channels, as torchvision's `norm_layer` callables. */
export type NormLayer = (numFeatures: number) => Module;

/** torchvision's choice for pretrained backbones, whose statistics must not move. */
export const frozenBatchNorm: NormLayer = (c) => new FrozenBatchNorm2d(c);

/** A backbone that gives FPN maps: what FasterRCNN needs (`out_channels` in torchvision). */
export interface DetectionBackbone extends Module<[Tensor], Record<string, Tensor> | Tensor> {
  /** Channels of every output map. */
  readonly outChannels: number;
}

export interface BackboneWithFPNOptions {
  /** Default LastLevelMaxPool (a 'pool' level). */
  extraBlocks?: ExtraFPNBlock | null;
  normLayer?: NormLayer | null;
}

/** A backbone's named stages (`body`) under a feature pyramid (`fpn`). */
export class BackboneWithFPN extends Module<[Tensor], Record<string, Tensor>> implements DetectionBackbone {
  body: IntermediateLayerGetter;
  fpn: FeaturePyramidNetwork;
  readonly outChannels: number;

  constructor(
    backbone: Module,
    returnLayers: Record<string, string>,
    inChannelsList: readonly number[],
    outChannels: number,
    options: BackboneWithFPNOptions = {},
  ) {
    super();
    this.body = new IntermediateLayerGetter(backbone, returnLayers);
    this.fpn = new FeaturePyramidNetwork(inChannelsList, outChannels, {
      extraBlocks: options.extraBlocks ?? new LastLevelMaxPool(),
      normLayer: options.normLayer ?? null,
    });
    this.outChannels = outChannels;
  }

  forward(x: Tensor): Record<string, Tensor> {
    return this.fpn.call(this.body.call(x));
  }
}

/**
 * Replaces every BatchNorm2d of `model` by `normLayer(numFeatures)` holding the same tensors,
 * which is what building the classifier with torchvision's `norm_layer` and then loading its
 * weights gives.
 */
export function replaceBatchNorm<M extends Module>(model: M, normLayer: NormLayer): M {
  for (const parent of model.modules()) {
    for (const [name, child] of parent.namedChildren()) {
      if (!(child instanceof BatchNorm2d)) continue;
      const norm = normLayer(child.numFeatures);
      norm.loadStateDict(child.stateDict());
      setOwnField(parent, name, norm);
    }
  }
  return model;
}

/**
 * Sets the eps of every FrozenBatchNorm2d, as torchvision's `overwrite_eps`: its ResNet-50 COCO
 * checkpoints were trained with eps 0.
 */
export function overwriteEps(model: Module, eps: number): void {
  for (const m of model.modules()) if (m instanceof FrozenBatchNorm2d) m.eps = eps;
}

/**
 * How many stages stay trainable, as torchvision's `_validate_trainable_layers`: all of them
 * (`maxValue`) when nothing is pretrained, else `trainableBackboneLayers ?? defaultValue`.
 */
export function validateTrainableLayers(
  isTrained: boolean,
  trainableBackboneLayers: number | undefined,
  maxValue: number,
  defaultValue: number,
): number {
  let layers = trainableBackboneLayers;
  if (!isTrained) {
    if (layers !== undefined)
      warn(
        'UserWarning',
        'Changing trainable_backbone_layers has not effect if neither pretrained nor pretrained_backbone have ' +
          `been set to True, falling back to trainable_backbone_layers=${maxValue} so that all layers are trainable`,
      );
    layers = maxValue;
  }
  layers ??= defaultValue;
  if (!Number.isInteger(layers) || layers < 0 || layers > maxValue)
    throw new RangeError(`Trainable backbone layers should be in the range [0,${maxValue}], got ${layers} `);
  return layers;
}

export interface ExtractorOptions {
  /** Stages whose maps go to the FPN (ResNet: 1-4, default all; MobileNet: stage numbers, default the last two). */
  returnedLayers?: readonly number[];
  extraBlocks?: ExtraFPNBlock | null;
  /** Norm layer of the FPN's convolutions (default none). */
  normLayer?: NormLayer | null;
}

/**
 * A ResNet's stages under an FPN of 256 channels, as torchvision's `_resnet_fpn_extractor`:
 * `trainableLayers` (0-5) counts stages from layer4 down to conv1 (5 adds bn1); the others are frozen.
 */
export function resnetFpnExtractor(
  backbone: ResNet,
  trainableLayers: number,
  options: ExtractorOptions = {},
): BackboneWithFPN {
  if (!Number.isInteger(trainableLayers) || trainableLayers < 0 || trainableLayers > 5)
    throw new RangeError(`Trainable layers should be in the range [0,5], got ${trainableLayers}`);
  const layersToTrain = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'].slice(0, trainableLayers);
  if (trainableLayers === 5) layersToTrain.push('bn1');
  for (const [name, parameter] of backbone.namedParameters())
    if (layersToTrain.every((layer) => !name.startsWith(layer))) parameter.requiresGrad = false;
  const returnedLayers = options.returnedLayers ?? [1, 2, 3, 4];
  if (Math.min(...returnedLayers) <= 0 || Math.max(...returnedLayers) >= 5)
    throw new RangeError(`Each returned layer should be in the range [1,4]. Got ${JSON.stringify(returnedLayers)}`);
  const returnLayers = Object.fromEntries(returnedLayers.map((k, v) => [`layer${k}`, String(v)]));
  // torchvision's backbone.inplanes // 8: the classifier's input features are the last stage's channels.
  const inChannelsStage2 = Math.floor(backbone.fc.inFeatures / 8);
  const inChannelsList = returnedLayers.map((i) => inChannelsStage2 * 2 ** (i - 1));
  return new BackboneWithFPN(backbone, returnLayers, inChannelsList, 256, {
    extraBlocks: options.extraBlocks ?? null,
    normLayer: options.normLayer ?? null,
  });
}

export interface ResnetFpnBackboneOptions {
  /** A ResNet by torchvision's name: resnet18 ... resnet152, resnext*, wide_resnet*. */
  backboneName: string;
  /** The classifier's ImageNet state dict (torchvision downloads it by enum; featurefx takes the tensors). */
  weights?: StateDict | null;
  /** The backbone's norm layer (default FrozenBatchNorm2d), in place of its BatchNorm2d. */
  normLayer?: NormLayer;
  /** Default 3. */
  trainableLayers?: number;
  returnedLayers?: readonly number[];
  extraBlocks?: ExtraFPNBlock | null;
}

/**
 * torchvision's `resnet_fpn_backbone`: a ResNet by name, its norm layers replaced, under an FPN.
 * @example
 * const backbone = resnetFpnBackbone({ backboneName: 'resnet18', trainableLayers: 5 });
 * backbone.call(rand([1, 3, 64, 64])); // { '0': [1, 256, 16, 16], ..., '3': [1, 256, 2, 2], pool: [1, 256, 1, 1] }
 */
export function resnetFpnBackbone(options: ResnetFpnBackboneOptions): BackboneWithFPN {
  const backbone = getModelEntry(options.backboneName).build();
  if (!(backbone instanceof ResNet))
    throw new RangeError(`[resnetFpnBackbone] backboneName must name a ResNet, got '${options.backboneName}'`);
  if (options.weights != null) backbone.loadStateDict(options.weights);
  replaceBatchNorm(backbone, options.normLayer ?? frozenBatchNorm);
  const { returnedLayers, extraBlocks } = options;
  return resnetFpnExtractor(backbone, options.trainableLayers ?? 3, {
    ...(returnedLayers === undefined ? {} : { returnedLayers }),
    ...(extraBlocks === undefined ? {} : { extraBlocks }),
  });
}

/**
 * A MobileNetV3's features under an FPN of 256 channels, as torchvision's `_mobilenet_extractor`
 * with `fpn=True`: stages start at the first block and at each strided block (`isCn`); the last
 * `trainableLayers` stages stay trainable.
 */
export function mobilenetFpnExtractor(
  backbone: MobileNetV3,
  trainableLayers: number,
  options: ExtractorOptions = {},
): BackboneWithFPN {
  const features = backbone.features;
  const blocks = [...features];
  const stageIndices = [
    0,
    ...blocks.flatMap((b, i) => (b instanceof InvertedResidualV3 && b.isCn ? [i] : [])),
    blocks.length - 1,
  ];
  const numStages = stageIndices.length;
  if (!Number.isInteger(trainableLayers) || trainableLayers < 0 || trainableLayers > numStages)
    throw new RangeError(`Trainable layers should be in the range [0,${numStages}], got ${trainableLayers} `);
  const freezeBefore = trainableLayers === 0 ? blocks.length : stageIndices[numStages - trainableLayers]!;
  for (const b of blocks.slice(0, freezeBefore)) for (const p of b.parameters()) p.requiresGrad = false;
  const returnedLayers = options.returnedLayers ?? [numStages - 2, numStages - 1];
  if (Math.min(...returnedLayers) < 0 || Math.max(...returnedLayers) >= numStages)
    throw new RangeError(
      `Each returned layer should be in the range [0,${numStages - 1}], got ${JSON.stringify(returnedLayers)} `,
    );
  const returnLayers = Object.fromEntries(returnedLayers.map((k, v) => [String(stageIndices[k]), String(v)]));
  const inChannelsList = returnedLayers.map((i) => outChannelsOf(blocks[stageIndices[i]!]!));
  return new BackboneWithFPN(features, returnLayers, inChannelsList, 256, {
    extraBlocks: options.extraBlocks ?? null,
    normLayer: options.normLayer ?? null,
  });
}

/** A MobileNetV3 feature block's output channels (`out_channels` in torchvision). */
function outChannelsOf(block: Module): number {
  if (block instanceof InvertedResidualV3 || block instanceof Conv2dNormActivation) return block.outChannels;
  throw new TypeError(`[mobilenetFpnExtractor] a feature block of type ${block.className} has no out_channels`);
}
