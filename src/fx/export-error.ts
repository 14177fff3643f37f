/** The error of ONNX export and `compile`. */

/** Where a failure happened and why, naming the featurefx node and module. */
export class ExportError extends Error {
  override name = 'ExportError';
}
