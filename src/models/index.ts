/** The model zoo, under torchvision's names. */
export {
  getModel,
  listModels,
  registerModel,
  getModelEntry,
  type ClassificationModelEntry,
  type ClassificationTransform,
  type DetectionModelEntry,
  type ModelEntry,
  type ModelOptions,
  type ModelTask,
  type ObjectDetectionTransform,
} from './registry.js';
export * from './resnet.js';
export * from './vgg.js';
export * from './alexnet.js';
export * from './squeezenet.js';
export * from './mobilenet-v2.js';
export * from './mobilenet-v3.js';
export * from './densenet.js';
export * from './mnasnet.js';
export * from './efficientnet.js';
export * from './regnet.js';
export * from './convnext.js';
export * from './googlenet.js';
export * from './inception.js';
export * from './shufflenet-v2.js';
export * from './maxvit.js';
export * from './vision-transformer.js';
export * from './swin-transformer.js';
export * from './detection/index.js';
