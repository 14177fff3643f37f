/** Feature extraction, as torchvision.models.feature_extraction. */
export { getGraphNodeNames, type GetGraphNodeNamesOptions } from './get-graph-node-names.js';
export { createFeatureExtractor, type FeatureExtractorOptions, type ReturnNodes } from './create-feature-extractor.js';
export { DualGraphModule } from './dual-graph-module.js';
export { NodePathTracer } from './node-path-tracer.js';
export { featureInfo, type FeatureInfo, type FeatureInfoOptions, type FeatureLayout } from './feature-info.js';
export { toFeatureMaps, type FeatureMaps } from './feature-maps.js';
