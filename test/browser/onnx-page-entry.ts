/**
 * What the browser test's page imports, bundled by esbuild: featurefx's browser-safe reading, naming
 * and pruning of ONNX files. The bundle fails to build if any of them reaches a node: module.
 */
export { nameOnnxNodes } from '../../src/onnx/node-names.js';
export { pruneModel } from '../../src/onnx/prune.js';
export { decodeOnnxModel, encodeOnnxModel } from '../../src/onnx/read-model.js';
