import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { OnnxFormatError } from '../errors.js';
import { exportOnnx } from '../fx/onnx-export.js';
import * as nn from '../nn/index.js';
import { Module } from '../nn/module.js';
import { randn } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttributeProto, ModelProto, NodeProto } from './model-proto.js';
import { decodeOnnxModel, encodeOnnxModel } from './read-model.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'onnx');

class SmallNet extends Module<[Tensor], Tensor> {
  conv = new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 });
  bn = new nn.BatchNorm2d(8);
  relu = new nn.ReLU();
  forward(x: Tensor): Tensor {
    return this.relu.call(this.bn.call(this.conv.call(x)));
  }
}

/** A small featurefx export (conv, batch norm, ReLU at 16x16), made once; each caller gets a copy. */
const exportedModel = (() => {
  let bytes: Uint8Array | undefined;
  return () => (bytes ??= exportOnnx(new SmallNet().eval(), { inputShape: [1, 3, 16, 16] })).slice();
})();

/** The outputs of a model run by onnxruntime-node, on input x. */
async function run(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, dims) });
    return session.outputNames.map((name) => out[name]!.data as Float32Array);
  } finally {
    await session.release();
  }
}

const expectFormatError = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (error: unknown) => error instanceof OnnxFormatError && message.test(error.message));

test("featurefx's export decodes to its graph, and encodes back to a model ONNX Runtime runs the same", async () => {
  const bytes = exportedModel();
  const model = decodeOnnxModel(bytes);
  assert.equal(model.irVersion, 8);
  assert.deepEqual(model.opsetImport.find((o) => !o.domain)?.version, 17);
  const graph = model.graph!;
  assert.deepEqual(
    graph.input.map((v) => v.name),
    ['x'],
  );
  assert.deepEqual(graph.node.map((n) => n.opType).slice(0, 3), ['Conv', 'BatchNormalization', 'Relu']);
  assert.ok(graph.initializer.some((t) => t.name === 'conv.weight' && t.dims.join() === '8,3,3,3'));
  const conv = graph.node[0]!;
  assert.deepEqual(conv.input, ['x', 'conv.weight', 'conv.bias']);
  assert.ok(conv.attribute.some((a) => a.name === 'strides' && a.ints.join() === '2,2'));
  // The weights are views of the file's bytes, as Uint8Array (not Node's Buffer) everywhere.
  const weight = graph.initializer.find((t) => t.name === 'conv.weight')!.rawData!;
  assert.equal(weight.constructor, Uint8Array);
  assert.ok(weight.buffer === bytes.buffer, 'a view of the bytes given');

  const again = encodeOnnxModel(model);
  assert.deepEqual(decodeOnnxModel(again), model);
  const x = randn([1, 3, 16, 16]).data as Float32Array;
  assert.deepEqual(await run(again, x, [1, 3, 16, 16]), await run(bytes, x, [1, 3, 16, 16]));
});

test("torch.onnx's exports in the fixtures decode, with their scope names, and re-encode losslessly", () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.onnx') && !f.startsWith('hand-made'));
  assert.ok(files.length >= 6, `${files.length} torch.onnx fixtures`);
  for (const file of files) {
    const model = decodeOnnxModel(readFileSync(join(FIXTURES, file)), { source: file });
    assert.equal(model.producerName, 'pytorch', file);
    assert.ok(
      model.graph!.node.some((n) => n.name!.startsWith('/')),
      `${file}: scoped names such as /features/...`,
    );
    assert.deepEqual(decodeOnnxModel(encodeOnnxModel(model)), model, file);
  }
});

test('int64 attributes at the extremes (Slice to the end) survive a round trip exactly', () => {
  const model = decodeOnnxModel(exportedModel());
  const ends = { name: 'ends', type: 7, floats: [], ints: [2 ** 63 - 1, -(2 ** 63), 2 ** 53], strings: [] };
  model.graph!.node[0]!.attribute.push({ ...ends, tensors: [], graphs: [], sparseTensors: [], typeProtos: [] });
  const decoded = decodeOnnxModel(encodeOnnxModel(model));
  const bytes = encodeOnnxModel(decoded);
  // INT64_MAX's varint is 0xff x8 then 0x7f; INT64_MIN's is 0x80 x9 then 0x01.
  const hex = Buffer.from(bytes).toString('hex');
  assert.ok(hex.includes('ffffffffffffffff7f'), 'INT64_MAX encoded');
  assert.ok(hex.includes('80808080808080808001'), 'INT64_MIN encoded');
  assert.deepEqual(decoded.graph!.node[0]!.attribute.at(-1)!.ints, ends.ints);
});

test('a truncated file is refused as such, naming the source', () => {
  const bytes = exportedModel();
  for (const length of [bytes.length - 1, Math.floor(bytes.length / 2), 7]) {
    expectFormatError(
      () => decodeOnnxModel(bytes.subarray(0, length), { source: "'resnet.onnx'" }),
      /^Load model from 'resnet\.onnx' failed: protobuf parsing failed \(.+\) after reading \d+ bytes\. The file/,
    );
  }
});

test('a file that is not an ONNX model is refused as such', () => {
  const png = readFileSync(join(import.meta.dirname, '..', '..', 'assets', 'sample.png'));
  expectFormatError(() => decodeOnnxModel(png), /^Load model from the ONNX model failed: protobuf parsing failed/);
  // Valid protobuf, but no model: a text file that happens to parse, and an empty one.
  expectFormatError(() => decodeOnnxModel(new Uint8Array(0)), /it is not an ONNX model \(it has no ir_version/);
  expectFormatError(() => decodeOnnxModel(new Uint8Array([0x08, 0x08])), /it is not an ONNX model \(it has no graph/);
  assert.throws(() => decodeOnnxModel('model.onnx' as unknown as Uint8Array), TypeError);
});

/** The exported model with one change, encoded: a hostile or malformed file. */
function modified(change: (model: ModelProto) => void): Uint8Array {
  const model = decodeOnnxModel(exportedModel());
  change(model);
  return encodeOnnxModel(model);
}

test('IR versions and opsets newer than onnxruntime-node 1.30 runs are refused', () => {
  expectFormatError(
    () => decodeOnnxModel(modified((m) => (m.irVersion = 14))),
    /unsupported model IR version 14: onnxruntime-node 1\.30 loads IR versions 3 to 13\. Export the model again/,
  );
  expectFormatError(() => decodeOnnxModel(modified((m) => (m.irVersion = 2))), /unsupported model IR version 2/);
  expectFormatError(
    () => decodeOnnxModel(modified((m) => (m.opsetImport[0]!.version = 27))),
    /the model uses opset 27 of ai\.onnx, and onnxruntime-node 1\.30 supports opsets 1 to 26 of ai\.onnx\. Export it/,
  );
  expectFormatError(
    () => decodeOnnxModel(modified((m) => m.opsetImport.push({ domain: 'ai.onnx.ml', version: 6 }))),
    /uses opset 6 of ai\.onnx\.ml, and onnxruntime-node 1\.30 supports opsets 1 to 5/,
  );
  expectFormatError(() => decodeOnnxModel(modified((m) => (m.opsetImport = []))), /it imports no opset/);
  // The newest supported ones, and custom domains with their own numbering, load.
  decodeOnnxModel(
    modified((m) => {
      m.irVersion = 13;
      m.opsetImport = [{ version: 26 }, { domain: 'com.microsoft', version: 1000 }];
    }),
  );
});

test('tensors whose dims are absurd or do not fit their data are refused, naming the tensor', () => {
  const weight = (m: ModelProto) => m.graph!.initializer.find((t) => t.name === 'conv.weight')!;
  expectFormatError(
    () => decodeOnnxModel(modified((m) => (weight(m).dims = [2 ** 40, 1]))),
    /initializer 'conv\.weight' has dims \[1099511627776, 1\], over 2\^31 elements, more than ONNX Runtime's/,
  );
  expectFormatError(
    () => decodeOnnxModel(modified((m) => (weight(m).dims = [8, -3, 3, 3]))),
    /initializer 'conv\.weight' has dims \[8, -3, 3, 3\], whose dim 1 is -3, not a size/,
  );
  // 2^31 elements of 2^31 each: the product is refused as it grows, before it overflows.
  expectFormatError(
    () => decodeOnnxModel(modified((m) => (weight(m).dims = [2 ** 31, 2 ** 31, 0]))),
    /has dims \[2147483648, 2147483648, 0\], over 2\^31 elements/,
  );
  expectFormatError(
    () => decodeOnnxModel(modified((m) => (weight(m).dims = [8, 3, 3, 4]))),
    /initializer 'conv\.weight' declares dims \[8, 3, 3, 4\] of FLOAT \(1152 bytes\), but its raw_data has 864 bytes\./,
  );
  expectFormatError(
    () => decodeOnnxModel(modified((m) => (weight(m).dataType = 99))),
    /initializer 'conv\.weight' has data type 99, which is not an ONNX tensor type/,
  );
  // Tensors anywhere are checked: a Constant's value in a subgraph of an If node in a local function.
  const constant = decodeOnnxModel(exportedModel()).graph!.initializer[0]!;
  const attribute = (name: string, value: Partial<AttributeProto>): AttributeProto => ({
    name,
    floats: [],
    ints: [],
    strings: [],
    tensors: [],
    graphs: [],
    sparseTensors: [],
    typeProtos: [],
    ...value,
  });
  const node = (name: string, opType: string, attributes: AttributeProto[]): NodeProto => ({
    name,
    opType,
    input: [],
    output: ['y'],
    attribute: attributes,
    metadataProps: [],
    deviceConfigurations: [],
  });
  const branch = { ...decodeOnnxModel(exportedModel()).graph!, initializer: [] };
  branch.node = [node('deep_constant', 'Constant', [attribute('value', { t: { ...constant, dims: [-1] } })])];
  expectFormatError(
    () =>
      decodeOnnxModel(
        modified((m) => {
          m.functions.push({
            name: 'f',
            input: [],
            output: ['y'],
            attribute: [],
            attributeProto: [],
            opsetImport: [{ version: 17 }],
            node: [node('if', 'If', [attribute('then_branch', { g: branch })])],
            valueInfo: [],
            metadataProps: [],
          });
        }),
      ),
    /attribute 'value' of node 'deep_constant' has dims \[-1\], whose dim 0 is -1/,
  );
  // Typed fields (float_data) are checked too, and kept as they are.
  const typed = modified((m) => {
    const w = weight(m);
    w.floatData = Array.from(new Float32Array(w.rawData!.slice().buffer));
    delete w.rawData;
  });
  assert.equal(weight(decodeOnnxModel(typed)).floatData.length, 8 * 3 * 3 * 3);
  expectFormatError(
    () =>
      decodeOnnxModel(
        modified((m) => {
          weight(m).floatData = [1, 2, 3];
          delete weight(m).rawData;
        }),
      ),
    /declares dims \[8, 3, 3, 3\] of FLOAT \(216 entries of floatData\), but it holds 3/,
  );
});

test("graphs nested past protobuf's depth limit are refused, as by ONNX's own parser", () => {
  // ModelProto.graph (field 7) -> GraphProto.node (1) -> NodeProto.attribute (5) -> AttributeProto.g (6) -> ...
  const tags = [0x3a, ...Array.from({ length: 40 }, () => [0x0a, 0x2a, 0x32]).flat()];
  const varint = (n: number) => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, n >> 7]);
  // Each message's length is that of everything inside it: sizes from the innermost (empty) outwards.
  const headers: number[][] = [];
  let size = 0;
  for (const tag of tags.reverse()) {
    const header = [tag, ...varint(size)];
    headers.push(header);
    size += header.length;
  }
  const bytes = Uint8Array.from([0x08, 0x08, ...headers.reverse().flat()]);
  expectFormatError(() => decodeOnnxModel(bytes), /its messages are nested over 100 levels deep/);
});

test('graphs that read undefined values or define a value twice are refused, naming the node', () => {
  expectFormatError(
    () => decodeOnnxModel(modified((m) => (m.graph!.node[1]!.input[0] = 'ghost'))),
    /node '.+' \(BatchNormalization\) reads value 'ghost', which no graph input, initializer or node output defines/,
  );
  expectFormatError(
    () => decodeOnnxModel(modified((m) => (m.graph!.node[2]!.output = [...m.graph!.node[0]!.output]))),
    /value '.+' is the output of both node '.+' \(Conv\) and node '.+' \(Relu\), and an ONNX value has one producer/,
  );
  expectFormatError(
    () => decodeOnnxModel(modified((m) => (m.graph!.output[0]!.name = 'nowhere'))),
    /graph output 'nowhere' is no graph input, initializer or node output/,
  );
  const noOpType = modified((m) => delete m.graph!.node[0]!.opType);
  expectFormatError(() => decodeOnnxModel(noOpType), /\(no op_type\) has no op_type/);
});
