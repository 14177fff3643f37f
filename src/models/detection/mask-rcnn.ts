/**
 * Mask R-CNN, as torchvision 0.14's models/detection/mask_rcnn.py: Faster R-CNN whose RoI heads
 * also pool 14x14 features per detection, run four 3x3 convolutions (MaskRCNNHeads) and predict
 * a 28x28 mask per class (MaskRCNNPredictor).
 */
import { Conv2d } from '../../nn/layers/conv.js';
import { ConvTranspose2d } from '../../nn/layers/conv-transpose.js';
import { ReLU } from '../../nn/layers/activation.js';
import { Sequential } from '../../nn/layers/containers.js';
import { fanOut, normal } from '../../nn/init.js';
import type { Module } from '../../nn/module.js';
import { renameKey } from '../../nn/state-dict.js';
import { Conv2dNormActivation } from '../../nn/vision-ops/conv2d-norm-activation.js';
import { MultiScaleRoIAlign } from '../../nn/vision-ops/poolers.js';
import type { Tensor } from '../../tensor/tensor.js';
import { initWeights, kaimingNormal } from '../init-weights.js';
import { backboneOutChannels, FasterRCNN, type FasterRCNNOptions, typeName } from './faster-rcnn.js';

/** A mask head: pooled RoI features [K, C, 14, 14] to mask features [K, D, 14, 14]. */
export type MaskHead = Module<[Tensor], Tensor>;
/** A mask predictor: mask features to per-class mask logits [K, numClasses, 28, 28]. */
export type MaskPredictor = Module<[Tensor], Tensor>;

export interface MaskRCNNOptions extends FasterRCNNOptions {
  /** Default MultiScaleRoIAlign(['0', '1', '2', '3'], 14, 2). */
  maskRoiPool?: MultiScaleRoIAlign | null;
  /** Default MaskRCNNHeads(outChannels, [256, 256, 256, 256], 1). */
  maskHead?: MaskHead | null;
  /** Default MaskRCNNPredictor(256, 256, numClasses); not allowed with `numClasses`. */
  maskPredictor?: MaskPredictor | null;
}

/**
 * Mask R-CNN: eval-mode detections have `masks` [K, 1, H, W] (probabilities at the image's size);
 * train mode adds `loss_mask`.
 * @example
 * import { MaskRCNN, rand, resnetFpnBackbone, type Detection } from 'featurefx';
 *
 * const backbone = resnetFpnBackbone({ backboneName: 'resnet18', trainableLayers: 5 });
 * const model = new MaskRCNN(backbone, { numClasses: 3, minSize: 64, maxSize: 96, boxDetectionsPerImg: 5 }).eval();
 * const [{ boxes, masks }] = model.call([rand([3, 48, 64])]) as [Detection];
 * // masks: [K, 1, 48, 64], one per box
 */
export class MaskRCNN extends FasterRCNN {
  constructor(backbone: Module, options: MaskRCNNOptions = {}) {
    const { maskRoiPool, maskHead, maskPredictor, ...fasterOptions } = options;
    if (maskRoiPool != null && !(maskRoiPool instanceof MultiScaleRoIAlign))
      throw new TypeError(
        `mask_roi_pool should be of type MultiScaleRoIAlign or None instead of ${typeName(maskRoiPool)}`,
      );
    const numClasses = options.numClasses ?? null;
    if (numClasses !== null && maskPredictor != null)
      throw new RangeError('num_classes should be None when mask_predictor is specified');
    super(backbone, fasterOptions);
    const outChannels = backboneOutChannels(backbone);
    this.roi_heads.mask_roi_pool = maskRoiPool ?? new MultiScaleRoIAlign(['0', '1', '2', '3'], 14, 2);
    this.roi_heads.mask_head = maskHead ?? new MaskRCNNHeads(outChannels, [256, 256, 256, 256], 1);
    this.roi_heads.mask_predictor = maskPredictor ?? new MaskRCNNPredictor(256, 256, numClasses!);
  }
}

/**
 * 3x3 convolutions with ReLU (Conv2dNormActivation, no norm by default), one per entry of `layers`.
 */
export class MaskRCNNHeads extends Sequential<Tensor> {
  constructor(
    inChannels: number,
    layers: readonly number[],
    dilation: number,
    normLayer: ((channels: number) => Module) | null = null,
  ) {
    const blocks: Module[] = [];
    let nextFeature = inChannels;
    for (const layerFeatures of layers) {
      blocks.push(
        new Conv2dNormActivation(nextFeature, layerFeatures, 3, { stride: 1, padding: dilation, dilation, normLayer }),
      );
      nextFeature = layerFeatures;
    }
    super(...blocks);
    initWeights(this, { conv: kaimingNormal('fanOut'), zeroConvBias: true });
  }

  /** torchvision before 0.13 (version 1) saved `mask_fcn{i+1}.weight` for block i. */
  override upgradeStateDict(stateDict: Map<string, Tensor>, prefix: string): void {
    for (let i = 0; i < this.length; i++)
      for (const type of ['weight', 'bias'])
        renameKey(stateDict, `${prefix}mask_fcn${i + 1}.${type}`, `${prefix}${i}.0.${type}`);
  }
}

/** Upsamples by 2 (conv5_mask), then one 1x1 convolution to a mask logit per class (mask_fcn_logits). */
export class MaskRCNNPredictor extends Sequential<Tensor> {
  constructor(inChannels: number, dimReduced: number, numClasses: number) {
    const conv5Mask = new ConvTranspose2d(inChannels, dimReduced, 2, { stride: 2, padding: 0 });
    const maskFcnLogits = new Conv2d(dimReduced, numClasses, 1, { stride: 1, padding: 0 });
    super({ conv5_mask: conv5Mask, relu: new ReLU({ inplace: true }), mask_fcn_logits: maskFcnLogits });
    // torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu") on the weights; biases keep PyTorch's default.
    for (const layer of [conv5Mask, maskFcnLogits])
      layer.weight = normal(layer.weight.shape, Math.sqrt(2 / fanOut(layer.weight.shape)));
  }
}
