/** The model zoo, under torchvision's names. */
export { getModel, listModels, registerModel, getModelEntry, type ModelEntry, type ModelOptions } from './registry.js';
export * from './resnet.js';
