/** The error of ONNX export and `compile`. */
import type { Node } from './node.js';

/** Where a failure happened and why, naming the featurefx node and module. */
export class ExportError extends Error {
  override name = 'ExportError';
  /** The graph node that could not be lowered, when the failure is one node's. */
  readonly node: Node | undefined;

  constructor(message: string, options: ErrorOptions & { node?: Node } = {}) {
    super(message, options);
    this.node = options.node;
  }
}
