/**
 * Writes test/fixtures/onnx/hand-made.onnx: a small CNN written node by node, as tools other than
 * torch.onnx write models: flat node names with no module scopes ('stem_conv', not
 * '/stem/conv/Conv'), one node with no name at all, weights in typed fields (float_data) rather
 * than raw bytes. Tests of reading and of naming's fallback to ONNX node names use it.
 * Run: `npx tsx scripts/make-hand-made-onnx.ts`.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttributeProto, ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../src/onnx/model-proto.js';
import { encodeOnnxModel } from '../src/onnx/read-model.js';

const FLOAT = 1;

/** Deterministic weights: a sine of the index, small enough to keep activations tame. */
function weights(name: string, dims: number[]): TensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  const floatData = Array.from({ length: count }, (_, i) => Math.fround(0.3 * Math.sin(i * 0.7 + name.length)));
  const otherLists = { int32Data: [], stringData: [], int64Data: [], doubleData: [], uint64Data: [] };
  return { name, dims, dataType: FLOAT, floatData, ...otherLists, externalData: [], metadataProps: [] };
}

const INT = 2;
const INTS = 7;

function attribute(name: string, fields: Partial<AttributeProto>): AttributeProto {
  const lists = { floats: [], ints: [], strings: [], tensors: [], graphs: [], sparseTensors: [], typeProtos: [] };
  return { name, ...lists, ...fields };
}

function node(
  name: string,
  opType: string,
  input: string[],
  output: string[],
  attributes: AttributeProto[] = [],
): NodeProto {
  return { name, opType, input, output, attribute: attributes, metadataProps: [], deviceConfigurations: [] };
}

const ints = (name: string, values: number[]) => attribute(name, { type: INTS, ints: values });

function tensorValue(name: string, dims: (number | string)[]): ValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } }, metadataProps: [] };
}

/** The model: image [N, 3, 8, 8] -> logits [N, 4]. */
export function handMadeModel(): ModelProto {
  const conv3x3 = [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])];
  const nodes = [
    node('stem_conv', 'Conv', ['image', 'stem_w', 'stem_b'], ['t_stem'], conv3x3),
    node('stem_relu', 'Relu', ['t_stem'], ['t_stem_relu']),
    node('pool', 'MaxPool', ['t_stem_relu'], ['t_pool'], [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])]),
    node('block_conv', 'Conv', ['t_pool', 'block_w'], ['t_block'], conv3x3),
    node('residual', 'Add', ['t_block', 't_pool'], ['t_sum']),
    node('', 'Relu', ['t_sum'], ['t_sum_relu']),
    node('gap', 'GlobalAveragePool', ['t_sum_relu'], ['t_gap']),
    node('flatten', 'Flatten', ['t_gap'], ['t_flat']),
    node('classifier', 'Gemm', ['t_flat', 'fc_w', 'fc_b'], ['logits'], [attribute('transB', { type: INT, i: 1 })]),
  ];
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'featurefx scripts/make-hand-made-onnx.ts',
    graph: {
      name: 'hand_made_cnn',
      node: nodes,
      initializer: [
        weights('stem_w', [6, 3, 3, 3]),
        weights('stem_b', [6]),
        weights('block_w', [6, 6, 3, 3]),
        weights('fc_w', [4, 6]),
        weights('fc_b', [4]),
      ],
      sparseInitializer: [],
      input: [tensorValue('image', ['N', 3, 8, 8])],
      output: [tensorValue('logits', ['N', 4])],
      valueInfo: [],
      quantizationAnnotation: [],
      metadataProps: [],
    },
    metadataProps: [],
    trainingInfo: [],
    functions: [],
    configuration: [],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'onnx', 'hand-made.onnx');
  writeFileSync(path, encodeOnnxModel(handMadeModel()));
}
