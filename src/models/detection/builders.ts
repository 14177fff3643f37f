/**
 * The zoo's detection models under torchvision's names, as its builders in faster_rcnn.py and
 * mask_rcnn.py. torchvision downloads weights by enum; featurefx takes the state dicts themselves:
 * `weights` (a COCO checkpoint, e.g. loadWeights('maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth')) or
 * `weightsBackbone` (the classifier's ImageNet checkpoint). Either one makes the backbone's
 * BatchNorm2d FrozenBatchNorm2d and freezes its first stages, as in torchvision; with neither,
 * everything is trainable BatchNorm2d.
 */
import { skipInit } from '../../nn/init.js';
import type { StateDict } from '../../nn/state-dict.js';
import { MobileNetV3 } from '../mobilenet-v3.js';
import { getModelEntry, registerModel } from '../registry.js';
import { resnet50 } from '../resnet.js';
import { AnchorGenerator } from './anchor-utils.js';
import {
  frozenBatchNorm,
  mobilenetFpnExtractor,
  overwriteEps,
  replaceBatchNorm,
  resnetFpnExtractor,
  validateTrainableLayers,
  type BackboneWithFPN,
} from './backbone-utils.js';
import { FasterRCNN, type FasterRCNNOptions } from './faster-rcnn.js';
import { MaskRCNN, type MaskRCNNOptions } from './mask-rcnn.js';

/** The builders' own options; the others go to FasterRCNN / MaskRCNN. */
export interface DetectionWeightsOptions {
  /** Default 91 (COCO's category ids); with `weights`, only 91. */
  numClasses?: number;
  /** A COCO checkpoint of this model, loaded strictly (older key layouts too). */
  weights?: StateDict | null;
  /** The backbone classifier's checkpoint (resnet50 or mobilenet_v3_large), ignored with `weights`. */
  weightsBackbone?: StateDict | null;
  /** Backbone stages left trainable when weights are given: 0-5 (ResNet) or 0-6 (MobileNet), default 3. */
  trainableBackboneLayers?: number;
}

export type FasterRCNNBuilderOptions = DetectionWeightsOptions & Omit<FasterRCNNOptions, 'numClasses'>;
export type MaskRCNNBuilderOptions = DetectionWeightsOptions & Omit<MaskRCNNOptions, 'numClasses'>;

const COCO_CLASSES = 91;

/** torchvision's `_ovewrite_value_param`: a checkpoint fixes the number of classes. */
function numClassesFor(options: DetectionWeightsOptions): number {
  if (options.weights == null) return options.numClasses ?? COCO_CLASSES;
  if (options.numClasses !== undefined && options.numClasses !== COCO_CLASSES)
    throw new RangeError(
      `The parameter 'num_classes' expected value ${COCO_CLASSES} but got ${options.numClasses} instead.`,
    );
  return COCO_CLASSES;
}

/** ResNet-50 with FPN, as torchvision's resnet builders make it for detection. */
function resnet50FpnBackbone(options: DetectionWeightsOptions): BackboneWithFPN {
  const weightsBackbone = options.weights == null ? options.weightsBackbone : null;
  const isTrained = options.weights != null || weightsBackbone != null;
  const trainableLayers = validateTrainableLayers(isTrained, options.trainableBackboneLayers, 5, 3);
  const backbone = resnet50();
  if (weightsBackbone != null) backbone.loadStateDict(weightsBackbone);
  if (isTrained) replaceBatchNorm(backbone, frozenBatchNorm);
  return resnetFpnExtractor(backbone, trainableLayers);
}

/** Builds under skipInit when a checkpoint replaces every tensor, loads it, then applies `afterLoad`. */
function withWeights<M extends FasterRCNN>(
  options: DetectionWeightsOptions,
  build: () => M,
  afterLoad: (model: M) => void = () => {},
): M {
  if (options.weights == null) return build();
  const model = skipInit(build);
  model.loadStateDict(options.weights, { assign: true });
  afterLoad(model);
  return model;
}

/** The model options, without the builders' own. */
function modelOptions<T extends DetectionWeightsOptions>(options: T): Omit<T, keyof DetectionWeightsOptions> {
  const { numClasses, weights, weightsBackbone, trainableBackboneLayers, ...rest } = options;
  return rest;
}

/**
 * torchvision's `fasterrcnn_resnet50_fpn`; with `weights: loadWeights(file)`, its COCO checkpoint
 * (fasterrcnn_resnet50_fpn_coco-258fb6c6.pth from torchvision's weights table).
 */
export function fasterrcnn_resnet50_fpn(options: FasterRCNNBuilderOptions = {}): FasterRCNN {
  const numClasses = numClassesFor(options);
  return withWeights(
    options,
    () => new FasterRCNN(resnet50FpnBackbone(options), { ...modelOptions(options), numClasses }),
    // Its COCO checkpoint was trained with FrozenBatchNorm2d's eps at 0.
    (model) => overwriteEps(model, 0),
  );
}

/** torchvision's `maskrcnn_resnet50_fpn`. */
export function maskrcnn_resnet50_fpn(options: MaskRCNNBuilderOptions = {}): MaskRCNN {
  const numClasses = numClassesFor(options);
  return withWeights(
    options,
    () => new MaskRCNN(resnet50FpnBackbone(options), { ...modelOptions(options), numClasses }),
    (model) => overwriteEps(model, 0),
  );
}

/**
 * torchvision's `fasterrcnn_mobilenet_v3_large_fpn`: two FPN levels, 15 anchors per position,
 * rpnScoreThresh 0.05.
 * @example
 * const model = fasterrcnn_mobilenet_v3_large_fpn({ numClasses: 3, minSize: 96, maxSize: 128 }).eval();
 * model.call([rand([3, 80, 96]), rand([3, 64, 64])]); // [{ boxes, labels, scores }, { ... }]
 */
export function fasterrcnn_mobilenet_v3_large_fpn(options: FasterRCNNBuilderOptions = {}): FasterRCNN {
  const numClasses = numClassesFor(options);
  const build = (): FasterRCNN => {
    const weightsBackbone = options.weights == null ? options.weightsBackbone : null;
    const isTrained = options.weights != null || weightsBackbone != null;
    const trainableLayers = validateTrainableLayers(isTrained, options.trainableBackboneLayers, 6, 3);
    const classifier = getModelEntry('mobilenet_v3_large').build() as MobileNetV3;
    if (weightsBackbone != null) classifier.loadStateDict(weightsBackbone);
    if (isTrained) replaceBatchNorm(classifier, frozenBatchNorm);
    const backbone = mobilenetFpnExtractor(classifier, trainableLayers);
    const anchorSizes = Array.from({ length: 3 }, () => [32, 64, 128, 256, 512]);
    const anchorGenerator = new AnchorGenerator(
      anchorSizes,
      anchorSizes.map(() => [0.5, 1.0, 2.0]),
    );
    return new FasterRCNN(backbone, {
      rpnScoreThresh: 0.05,
      ...modelOptions(options),
      numClasses,
      rpnAnchorGenerator: anchorGenerator,
    });
  };
  return withWeights(options, build);
}

const FASTER_RCNN_OPTIONS = [
  'weights',
  'weightsBackbone',
  'trainableBackboneLayers',
  'minSize',
  'maxSize',
  'imageMean',
  'imageStd',
  'rpnAnchorGenerator',
  'rpnHead',
  'rpnPreNmsTopNTrain',
  'rpnPreNmsTopNTest',
  'rpnPostNmsTopNTrain',
  'rpnPostNmsTopNTest',
  'rpnNmsThresh',
  'rpnFgIouThresh',
  'rpnBgIouThresh',
  'rpnBatchSizePerImage',
  'rpnPositiveFraction',
  'rpnScoreThresh',
  'boxRoiPool',
  'boxHead',
  'boxPredictor',
  'boxScoreThresh',
  'boxNmsThresh',
  'boxDetectionsPerImg',
  'boxFgIouThresh',
  'boxBgIouThresh',
  'boxBatchSizePerImage',
  'boxPositiveFraction',
  'bboxRegWeights',
  'sizeDivisible',
  'fixedSize',
  'skipResize',
];
const OBJECT_DETECTION = { kind: 'objectDetection' } as const;

registerModel({
  name: 'fasterrcnn_resnet50_fpn',
  task: 'detection',
  build: fasterrcnn_resnet50_fpn,
  options: FASTER_RCNN_OPTIONS,
  transform: OBJECT_DETECTION,
});
registerModel({
  name: 'maskrcnn_resnet50_fpn',
  task: 'detection',
  build: maskrcnn_resnet50_fpn,
  options: [...FASTER_RCNN_OPTIONS, 'maskRoiPool', 'maskHead', 'maskPredictor'],
  transform: OBJECT_DETECTION,
});
registerModel({
  name: 'fasterrcnn_mobilenet_v3_large_fpn',
  task: 'detection',
  build: fasterrcnn_mobilenet_v3_large_fpn,
  options: FASTER_RCNN_OPTIONS,
  transform: OBJECT_DETECTION,
});
