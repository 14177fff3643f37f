/** torchvision.models.detection: Faster R-CNN and Mask R-CNN, their parts and the zoo's builders. */
export * from './types.js';
export { ImageList, type ImageSize } from './image-list.js';
export { GeneralizedRCNNTransform, type GeneralizedRCNNTransformOptions } from './transform.js';
export { AnchorGenerator } from './anchor-utils.js';
export { RPNHead, RegionProposalNetwork } from './rpn.js';
export { RoIHeads, type RoIHeadsOptions } from './roi-heads.js';
export { GeneralizedRCNN } from './generalized-rcnn.js';
export {
  FasterRCNN,
  FastRCNNPredictor,
  TwoMLPHead,
  type BoxHead,
  type BoxPredictor,
  type FasterRCNNOptions,
} from './faster-rcnn.js';
export {
  MaskRCNN,
  MaskRCNNHeads,
  MaskRCNNPredictor,
  type MaskHead,
  type MaskPredictor,
  type MaskRCNNOptions,
} from './mask-rcnn.js';
export {
  BackboneWithFPN,
  frozenBatchNorm,
  mobilenetFpnExtractor,
  overwriteEps,
  replaceBatchNorm,
  resnetFpnBackbone,
  resnetFpnExtractor,
  validateTrainableLayers,
  type BackboneWithFPNOptions,
  type DetectionBackbone,
  type ExtractorOptions,
  type NormLayer,
  type ResnetFpnBackboneOptions,
} from './backbone-utils.js';
export * from './builders.js';
export { CompiledBackbone, CompiledRPNHead, compileBackbone, compileDetector } from './compiled-backbone.js';
export { CompiledInEval } from './compiled-in-eval.js';
export { COCO_CATEGORIES } from './coco-categories.js';
