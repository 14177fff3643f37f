/**
 * The error classes a user may catch. Each message says what was wrong, where, and what to do;
 * docs/ERRORS.md has an entry for each class.
 */

/** A traced value was used in a way tracing cannot record (as a JS number, in control flow, ...). */
export class TraceError extends Error {
  override name = 'TraceError';
}

/** Bad arguments to feature extraction: unknown nodes, conflicting options. */
export class FeatureExtractionError extends Error {
  override name = 'FeatureExtractionError';
}

/** A weights file that cannot be read: corrupt, truncated, hostile or of an unsupported kind. */
export class WeightsError extends Error {
  override name = 'WeightsError';
}

/** A state dict that does not fit a module. */
export class StateDictError extends Error {
  override name = 'StateDictError';
  constructor(
    message: string,
    readonly missingKeys: readonly string[],
    readonly unexpectedKeys: readonly string[],
    readonly mismatchedKeys: readonly string[],
  ) {
    super(message);
  }
}

/**
 * Autograd used in a way it cannot follow, where PyTorch raises a RuntimeError: backward from a
 * tensor that does not require grad, a second backward through a freed graph, an op with no
 * derivative, a gradient of the wrong shape.
 */
export class AutogradError extends Error {
  override name = 'AutogradError';
}

/**
 * An ONNX file that cannot be read: not a protobuf ModelProto, truncated, with tensors whose data does
 * not fit their dims, external data outside the model's folder, or an IR version or opset ONNX Runtime
 * does not run. The message names the file, what was wrong and what to do.
 */
export class OnnxFormatError extends Error {
  override name = 'OnnxFormatError';
}
