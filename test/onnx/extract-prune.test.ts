/**
 * Pruning an ONNX model to chosen values (src/onnx/prune.ts) on a hand-made model: what is kept
 * through an If's branches (which read outer values) and local function calls, and that the result
 * runs in ONNX Runtime.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelProto, NodeProto, TensorProto, ValueInfoProto } from '../../src/onnx/model-proto.js';
import { pruneModel } from '../../src/onnx/prune.js';
import { encodeOnnxModel } from '../../src/onnx/read-model.js';
import { NativeSession } from '../../src/runtime/native-session.js';

// A hand-made model: x -> a = x + w; c = If(cond) { a + w } else { a - w } (the branches read the
// outer a and w); d = local.Double(c); and b, e, f that d does not need (f calls local.Triple).
const F32 = 1;
const local = 'test.local';
function node(opType: string, input: string[], output: string[], more: Partial<NodeProto> = {}): NodeProto {
  const empty = { attribute: [], metadataProps: [], deviceConfigurations: [] };
  return { opType, input, output, name: output[0]!, ...empty, ...more };
}
function info(name: string): ValueInfoProto {
  return { name, type: { tensorType: { elemType: F32, shape: { dim: [{ dimValue: 2 }] } } }, metadataProps: [] };
}
function tensor(name: string, dataType: number, dims: number[], raw: Uint8Array): TensorProto {
  const empty = { floatData: [], int32Data: [], stringData: [], int64Data: [], externalData: [], doubleData: [] };
  return { name, dataType, dims, rawData: raw, ...empty, uint64Data: [], metadataProps: [] };
}
function branch(opType: string, output: string) {
  const graph = { name: output, node: [node(opType, ['a', 'w'], [output])], input: [], output: [info(output)] };
  const empty = { initializer: [], sparseInitializer: [], valueInfo: [], quantizationAnnotation: [] };
  return { ...graph, ...empty, metadataProps: [] };
}
function fn(name: string, op: string) {
  return {
    name,
    domain: local,
    input: ['in'],
    output: ['out'],
    node: [node(op, ['in', 'in'], ['out'])],
    opsetImport: [{ domain: '', version: 17 }],
    attribute: [],
    attributeProto: [],
    valueInfo: [],
    metadataProps: [],
  };
}
const ifNode = node('If', ['cond'], ['c'], {
  attribute: [
    { name: 'then_branch', type: 5, g: branch('Add', 't'), ...emptyAttribute() },
    { name: 'else_branch', type: 5, g: branch('Sub', 'e'), ...emptyAttribute() },
  ],
});
function emptyAttribute() {
  return { floats: [], ints: [], strings: [], tensors: [], graphs: [], sparseTensors: [], typeProtos: [] };
}
const HAND_MADE: ModelProto = {
  irVersion: 8,
  opsetImport: [
    { domain: '', version: 17 },
    { domain: local, version: 1 },
  ],
  metadataProps: [],
  trainingInfo: [],
  configuration: [],
  functions: [fn('Double', 'Add'), fn('Triple', 'Mul')],
  graph: {
    name: 'hand-made',
    node: [
      node('Add', ['x', 'w'], ['a']),
      node('Mul', ['x', 'x'], ['b']),
      ifNode,
      node('Double', ['c'], ['d'], { domain: local }),
      node('Relu', ['b'], ['e']),
      node('Triple', ['b'], ['f'], { domain: local }),
    ],
    input: [info('x')],
    initializer: [
      tensor('w', F32, [2], new Uint8Array(new Float32Array([1, 2]).buffer)),
      tensor('cond', 9, [], new Uint8Array([1])),
      tensor('unused', F32, [2], new Uint8Array(8)),
    ],
    output: [info('e'), info('f')],
    sparseInitializer: [],
    valueInfo: [info('a'), info('b')],
    quantizationAnnotation: [],
    metadataProps: [],
  },
};

test("pruning keeps the outer values an If's branches read and the local functions kept nodes call", () => {
  const pruned = pruneModel(HAND_MADE, ['d']);
  const graph = pruned.graph!;
  assert.deepEqual(
    graph.node.map((n) => n.output[0]),
    ['a', 'c', 'd'],
  );
  assert.deepEqual(
    graph.initializer.map((t) => t.name),
    ['w', 'cond'],
  );
  assert.deepEqual(
    pruned.functions.map((f) => f.name),
    ['Double'],
  );
  assert.deepEqual(
    graph.valueInfo.map((v) => v.name),
    ['a'],
  );
  // 'd' has no declared type: ONNX Runtime infers it; the model runs: ((1 + 1) + 1) * 2, ((1 + 2) + 2) * 2.
  assert.deepEqual(graph.output, [{ name: 'd', metadataProps: [] }]);
  const session = new NativeSession(encodeOnnxModel(pruned), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const [d] = session.run([{ type: 'float32', dims: [2], data: new Float32Array([1, 1]) }]);
  assert.deepEqual(Array.from(d!.data as Float32Array), [6, 10]);
  session.dispose();
  assert.equal(HAND_MADE.graph!.node.length, 6, 'the input model is not changed');
});

test('pruning to an initializer or an input needs no node; an unknown value is a RangeError', () => {
  assert.deepEqual(pruneModel(HAND_MADE, ['w']).graph!.output[0]!.type?.tensorType?.elemType, F32);
  assert.equal(pruneModel(HAND_MADE, ['x']).graph!.node.length, 0);
  assert.throws(() => pruneModel(HAND_MADE, ['nope']), {
    name: 'RangeError',
    message: /pruneModel: 'nope' is not a value of the graph 'hand-made'/,
  });
});
