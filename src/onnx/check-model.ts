/**
 * The checks a decoded ONNX model passes before featurefx uses it, so that a malformed or hostile file
 * fails here with a message naming what is wrong rather than deep inside naming, pruning or ONNX
 * Runtime: it is a model at all, its IR version and opsets are ones onnxruntime-node 1.30 runs, and
 * every tensor's data fits its declared dims and type. Browser-safe.
 */
import { OnnxFormatError } from '../errors.js';
import type { GraphProto, ModelProto, OperatorSetIdProto, TensorProto } from './model-proto.js';
import { modelTensors } from './model-tensors.js';
import { dataTypeLayout, declaredElements, isExternal, rawByteLength, typedEntries } from './tensor-size.js';

/** IR versions onnxruntime-node 1.30 loads; 3 is the first with opset imports (ONNX 1.0). */
const MIN_IR_VERSION = 3;
const MAX_IR_VERSION = 13;

/** The newest opset of each standard domain onnxruntime-node 1.30 officially supports (it refuses newer). */
const MAX_OPSETS: Readonly<Record<string, number>> = { 'ai.onnx': 26, 'ai.onnx.ml': 5 };

/** Throws OnnxFormatError for the first problem found; `source` names the model in the message. */
export function checkModel(model: ModelProto, source: string): void {
  const fail = (problem: string): never => {
    throw new OnnxFormatError(`Load model from ${source} failed: ${problem}`);
  };
  if (model.irVersion === undefined || model.graph === undefined) {
    fail(
      `it is not an ONNX model (it has no ${model.irVersion === undefined ? 'ir_version' : 'graph'}, which ` +
        'every ONNX file has). Give the path of a .onnx file, e.g. one written by torch.onnx.export.',
    );
  }
  const ir = model.irVersion!;
  if (!Number.isSafeInteger(ir) || ir < MIN_IR_VERSION || ir > MAX_IR_VERSION) {
    fail(
      `unsupported model IR version ${ir}: onnxruntime-node 1.30 loads IR versions ${MIN_IR_VERSION} to ` +
        `${MAX_IR_VERSION}. Export the model again with an ONNX package that writes IR version ${MAX_IR_VERSION} ` +
        'or older (onnx 1.19), or convert it with onnx.version_converter.',
    );
  }
  if (model.opsetImport.length === 0) {
    fail('it imports no opset (opset_import is empty). Export it again with torch.onnx.export(..., opset_version=17).');
  }
  checkOpsets(model.opsetImport, 'the model', fail);
  for (const fn of model.functions) checkOpsets(fn.opsetImport, `local function '${fn.name ?? ''}'`, fail);
  checkValues(model.graph!, fail);
  for (const { tensor, where } of modelTensors(model)) {
    const problem = tensorProblem(tensor);
    if (problem !== undefined) {
      fail(`${where} ${problem}. The file is damaged or was not written by an ONNX exporter; export it again.`);
    }
  }
}

/**
 * Each node has an op type, reads only values defined somewhere in the graph (ONNX Runtime refuses
 * the rest), and each value has one producer: what naming and pruning rely on. Subgraphs may read
 * their outer scopes, so only the main graph is checked.
 */
function checkValues(graph: GraphProto, fail: (problem: string) => never): void {
  const producer = new Map<string, string>();
  for (const name of [...graph.input.map((v) => v.name), ...graph.initializer.map((t) => t.name)]) {
    producer.set(name ?? '', 'the graph');
  }
  for (const sparse of graph.sparseInitializer) producer.set(sparse.values?.name ?? '', 'the graph');
  for (const node of graph.node) {
    const label = `node '${node.name ?? ''}' (${node.opType ?? 'no op_type'})`;
    if (!node.opType) fail(`${label} has no op_type. The file is damaged; export it again.`);
    for (const output of node.output) {
      if (output === '') continue;
      const other = producer.get(output);
      if (other !== undefined && other !== 'the graph') {
        fail(
          `value '${output}' is the output of both ${other} and ${label}, and an ONNX value has one producer. ` +
            'The file is damaged or was edited by hand; export it again.',
        );
      }
      producer.set(output, label);
    }
  }
  const defined = (name: string) => name === '' || producer.has(name);
  for (const node of graph.node) {
    const missing = node.input.find((name) => !defined(name));
    if (missing !== undefined) {
      fail(
        `node '${node.name ?? ''}' (${node.opType}) reads value '${missing}', which no graph input, initializer ` +
          'or node output defines. The file is damaged or was edited by hand; export it again.',
      );
    }
  }
  const missing = graph.output.find((v) => !defined(v.name ?? ''));
  if (missing !== undefined) {
    fail(
      `graph output '${missing.name ?? ''}' is no graph input, initializer or node output. The file is damaged ` +
        'or was edited by hand; export it again.',
    );
  }
}

function checkOpsets(opsets: readonly OperatorSetIdProto[], owner: string, fail: (problem: string) => never): void {
  for (const { domain, version } of opsets) {
    const name = domain === undefined || domain === '' ? 'ai.onnx' : domain;
    const max = MAX_OPSETS[name];
    if (max === undefined) continue; // custom domains (local functions, com.microsoft) have their own numbering
    if (version === undefined || !Number.isSafeInteger(version) || version < 1 || version > max) {
      fail(
        `${owner} uses opset ${version ?? '(none)'} of ${name}, and onnxruntime-node 1.30 supports opsets 1 to ` +
          `${max} of ${name}. Export it with an older opset (torch.onnx.export(..., opset_version=17)) or convert ` +
          'it with onnx.version_converter.convert_version.',
      );
    }
  }
}

/** What is wrong with a tensor's declaration or data, or undefined. */
function tensorProblem(tensor: TensorProto): string | undefined {
  const layout = dataTypeLayout(tensor.dataType);
  if (layout === undefined) return `has data type ${tensor.dataType ?? 0}, which is not an ONNX tensor type`;
  const count = declaredElements(tensor.dims);
  if (typeof count === 'string') return `has dims [${tensor.dims.join(', ')}], ${count}`;
  // External data is checked against its file by readOnnxModel; a segment is part of a larger tensor.
  if (isExternal(tensor) || tensor.segment !== undefined) return undefined;
  const declared = `dims [${tensor.dims.join(', ')}] of ${layout.name}`;
  if (tensor.rawData !== undefined) {
    if (layout.bits === 0) return `is a STRING tensor with raw_data, which strings cannot have`;
    const bytes = rawByteLength(layout, count);
    if (tensor.rawData.length !== bytes) {
      return `declares ${declared} (${bytes} bytes), but its raw_data has ${tensor.rawData.length} bytes`;
    }
    return undefined;
  }
  const entries = typedEntries(layout, count);
  const held = tensor[layout.field].length;
  if (held !== entries) {
    return `declares ${declared} (${entries} entries of ${layout.field}), but it holds ${held}`;
  }
  return undefined;
}
