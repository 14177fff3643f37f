/**
 * Feature extraction in the page: the model pruned to the selected nodes' outputs (src/onnx/prune.ts,
 * as `createFeatureExtractor` on an ONNX file does), run by onnxruntime-web with the preprocessed
 * image, each output drawn by VIEW's `renderFeaturePanel` in its panel.
 */
import { pruneModel } from '../src/onnx/prune.js';
import { encodeOnnxModel } from '../src/onnx/read-model.js';
import type { FeatureMap } from './feature-grid.js';
import type { ModelInput } from './image-input.js';
import type { LoadedModel } from './model-source.js';
import type { Resolved } from './node-tree.js';
import { OrtTensor, type Runtime, SessionCache } from './runtime.js';

export class Extractor {
  private readonly sessions = new SessionCache(4);

  constructor(
    private readonly runtime: Runtime,
    readonly model: LoadedModel,
  ) {}

  /**
   * The outputs of `nodes` for the input, in one run of the model pruned to them (keyed by node name),
   * and the milliseconds spent getting the session (pruning and creating it, unless cached) and running it.
   */
  async run(
    nodes: readonly Resolved[],
    input: ModelInput,
  ): Promise<{ maps: Map<string, FeatureMap>; sessionMs: number; runMs: number }> {
    const outputs = [...new Set(nodes.map((n) => n.node.output))];
    const started = performance.now();
    const session = await this.sessions.get(outputs.join('\n'), () =>
      this.runtime.createSession(encodeOnnxModel(pruneModel(this.model.proto, outputs))),
    );
    const ran = performance.now();
    const feed = new OrtTensor('float32', input.input.data, input.input.dims);
    const results = await session.run({ [this.model.input.name]: feed }, outputs);
    const sessionMs = Math.round(ran - started);
    const runMs = Math.round(performance.now() - ran);
    const maps = new Map<string, FeatureMap>();
    for (const { node } of nodes) {
      const tensor = results[node.output]!;
      // Integer and boolean outputs (sizes, indices) are drawn and saved as float32 too.
      const data =
        tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data as ArrayLike<number>, Number);
      maps.set(node.name, { node: node.name, dims: [...tensor.dims], data });
    }
    return { maps, sessionMs, runMs };
  }

  /** Releases the model's sessions (when the page switches models). */
  dispose(): void {
    this.sessions.clear();
  }
}
