/**
 * What `createFeatureExtractor(onnxModel, { returnNodes })` returns: the file pruned to the
 * requested nodes, called like a traced extractor (`{ key: tensor }`), and writable as an ONNX
 * file of its own whose outputs are named by the keys.
 */
import { writeFileSync } from 'node:fs';
import type { ReturnNodes } from '../featureExtraction/return-nodes.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ModelProto, NodeProto } from './model-proto.js';
import type { OnnxModel } from './onnx-model.js';
import { pruneModel } from './prune.js';
import { encodeOnnxModel } from './read-model.js';

export class OnnxFeatureExtractor {
  /** Output key -> the ONNX value holding that node's output, in the order requested. */
  readonly outputs: ReadonlyMap<string, string>;

  constructor(
    readonly model: OnnxModel,
    returnNodes: ReturnNodes,
  ) {
    this.outputs = model.select(returnNodes);
  }

  /**
   * The requested nodes' outputs for `input` (a tensor, or a record by input name), as `{ key: tensor }`.
   * Runs in the session the model caches for this set of outputs.
   */
  call(input: Tensor | Readonly<Record<string, Tensor>>): Record<string, Tensor> {
    return this.model.runSelected(input, this.outputs);
  }

  /** The pruned model, its outputs named by the output keys (an Identity per renamed output). */
  toModel(): ModelProto {
    const pruned = pruneModel(this.model.proto, [...new Set(this.outputs.values())]);
    const graph = pruned.graph!;
    const taken = new Set([
      ...graph.input.map((v) => v.name),
      ...graph.initializer.map((t) => t.name),
      ...graph.node.flatMap((n) => n.output),
    ]);
    const renames: NodeProto[] = [];
    const output = [...this.outputs].map(([key, value]) => {
      const info = graph.output.find((v) => v.name === value)!;
      if (key === value) return info;
      if (taken.has(key)) {
        throw new RangeError(
          `the output key '${key}' is also the name of a value in ${this.model.source}, so the saved model ` +
            'could not name its output by it; choose another key',
        );
      }
      renames.push({
        name: `${key}/Identity`,
        opType: 'Identity',
        input: [value],
        output: [key],
        attribute: [],
        metadataProps: [],
        deviceConfigurations: [],
      });
      return { ...info, name: key };
    });
    return { ...pruned, graph: { ...graph, node: [...graph.node, ...renames], output } };
  }

  /** The pruned model as ONNX file bytes. */
  toBytes(): Uint8Array {
    return encodeOnnxModel(this.toModel());
  }

  /** Writes the pruned model as an ONNX file. */
  save(path: string): void {
    writeFileSync(path, this.toBytes());
  }
}
