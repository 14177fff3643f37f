/**
 * featurefx: torchvision's FX feature extraction for TypeScript.
 *
 * @example
 * import { F, randn } from 'featurefx';
 * const y = F.relu(randn([1, 3, 8, 8]));
 */
export { F } from './ops/index.js';
export { Tensor, type TensorMeta, type NestedArray } from './tensor/tensor.js';
export { tensor, zeros, ones, full, arange, rand, randn, fromData } from './tensor/creation.js';
export { Generator, manualSeed } from './tensor/generator.js';
export type { DType } from './tensor/dtype.js';
export { setNumThreads, getNumThreads } from './runtime/threads.js';
export {
  TraceError,
  FeatureExtractionError,
  WeightsError,
  StateDictError,
  AutogradError,
  OnnxFormatError,
} from './errors.js';
export * as autograd from './autograd/index.js';
export { noGrad, enableGrad, isGradEnabled } from './autograd/grad-mode.js';
export { compileTrainingStep, CompiledTrainingStep, type TrainingStepOptions } from './fx/training-step.js';
export { Module, type CloneMemo, type ForwardHook, type ForwardPreHook, type RemovableHandle } from './nn/module.js';
export { skipInit } from './nn/init.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export { loadPth, loadSafetensors, saveSafetensors, loadNpy, saveNpy, loadWeights } from './io/index.js';
export * from './models/index.js';
export {
  getGraphNodeNames,
  createFeatureExtractor,
  featureInfo,
  toFeatureMaps,
  DualGraphModule,
  NodePathTracer,
  type FeatureExtractorOptions,
  type GetGraphNodeNamesOptions,
  type ReturnNodes,
  type FeatureInfo,
  type FeatureLayout,
  type FeatureMaps,
} from './featureExtraction/index.js';
export { OnnxModel, type OnnxModelOptions, type OnnxInput } from './onnx/onnx-model.js';
export { OnnxFeatureExtractor } from './onnx/onnx-feature-extractor.js';
export {
  Graph,
  Node,
  Tracer,
  GraphModule,
  Interpreter,
  InterpreterError,
  wrap,
  symbolicTrace,
  exportOnnx,
  compile,
  CompiledModule,
  ExportError,
} from './fx/index.js';
export type { TracerOptions, TraceOptions, ExportOptions, CompileOptions } from './fx/index.js';
export { slice, Slice } from './ops/getitem.js';
export {
  gradCam,
  exportGradCam,
  compileGradCam,
  CompiledGradCam,
  type GradCamOptions,
  type GradCamResult,
  type ExportGradCamOptions,
} from './explain/grad-cam.js';
