/** torch.nn for featurefx: `Module` and the layers. */
export { Module, type CloneMemo, type ForwardHook, type ForwardPreHook, type RemovableHandle } from './module.js';
export { type LoadStateDictOptions, type LoadStateDictResult, type StateDict } from './state-dict.js';
export { Conv2d, type Conv2dLayerOptions } from './layers/conv.js';
export { ConvTranspose2d, type ConvTranspose2dLayerOptions } from './layers/conv-transpose.js';
export { Linear, Identity } from './layers/linear.js';
export { BatchNorm2d, type BatchNormOptions } from './layers/batch-norm.js';
export { LayerNorm, GroupNorm } from './layers/normalization.js';
export { ReLU, ReLU6, Hardswish, Hardsigmoid, SiLU, Sigmoid, Tanh, GELU, Softmax } from './layers/activation.js';
export { Dropout } from './layers/dropout.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d } from './layers/pooling.js';
export { Flatten } from './layers/flatten.js';
export { Sequential, ModuleList, ModuleDict } from './layers/containers.js';
export { CrossEntropyLoss, MSELoss, BCEWithLogitsLoss, SmoothL1Loss } from './losses/index.js';
export { MultiheadAttention, type MultiheadAttentionOptions } from './layers/multihead-attention.js';
export { isBuiltinLayer } from './leaf.js';
export * from './vision-ops/index.js';
