/**
 * `featurefx nodes model.onnx`: the nodes of an ONNX file by featurefx-style names (src/onnx/node-names.ts),
 * with the op that makes each and the shape the file declares for it.
 */
import { InvalidArgumentError } from 'commander';
import { nameOnnxNodes } from '../onnx/node-names.js';
import { readOnnxModel } from '../onnx/read-model-file.js';

export interface OnnxNodesOptions {
  json?: boolean;
  leaf?: string;
  inputShape?: string;
}

/**
 * Prints one line per node, `name<TAB>kind<TAB>shape`, where shape is the file's declaration (a
 * graph input or output, or value_info) and `?` where the file declares none; with `json`, the
 * same object as for zoo models: `{"train": [...], "eval": [...], "details": [...]}` (a file has one
 * graph, so both lists are equal).
 */
export async function printOnnxNodes(path: string, options: OnnxNodesOptions): Promise<void> {
  if (options.leaf !== undefined || options.inputShape !== undefined) {
    throw new InvalidArgumentError(
      `nodes: --leaf and --input-shape apply to zoo models; ${path} is an ONNX file, whose nodes and ` +
        'shapes are those the file records. Leave them out.',
    );
  }
  const nodes = nameOnnxNodes(await readOnnxModel(path));
  if (options.json === true) {
    const names = nodes.map((n) => n.name);
    console.log(JSON.stringify({ train: names, eval: names, details: nodes }, null, 1));
    return;
  }
  for (const n of nodes)
    console.log([n.name, n.kind, n.shape === undefined ? '?' : JSON.stringify(n.shape)].join('\t'));
}
