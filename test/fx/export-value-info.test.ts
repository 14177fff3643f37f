/**
 * featurefx's exports declare the type and shape of every tensor named after a featurefx node in
 * the graph's value_info, so that a reader of the file (nameOnnxNodes, the page's node tree) has
 * each node's shape without running it: fixed sizes as numbers, the dynamic input sizes by their
 * names ('batch', 'height', 'width') where a value's size is one of them, other sizes computed from
 * them left undeclared. ONNX Runtime must agree with every declaration: it loads the files without
 * a warning or an error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NodePathTracer } from '../../src/fx/node-path-tracer.js';
import { exportOnnx } from '../../src/fx/onnx-export.js';
import { ShapeProp } from '../../src/fx/passes/shape-prop.js';
import { resnet18 } from '../../src/models/resnet.js';
import * as nn from '../../src/nn/index.js';
import { skipInit } from '../../src/nn/init.js';
import { Module } from '../../src/nn/module.js';
import { assert as assertTrue } from '../../src/ops/assert.js';
import { eq } from '../../src/ops/eq.js';
import { F } from '../../src/ops/index.js';
import { nameOnnxNodes } from '../../src/onnx/node-names.js';
import { decodeOnnxModel } from '../../src/onnx/read-model.js';
import type { Tensor, TensorMeta } from '../../src/tensor/tensor.js';

/** Each named node's declared shape, by name. */
function declaredShapes(bytes: Uint8Array): Map<string, (number | string)[] | undefined> {
  return new Map(nameOnnxNodes(decodeOnnxModel(bytes)).map((n) => [n.name, n.shape]));
}

/**
 * What ONNX Runtime (at its default log level, 'warning') prints while loading each model and
 * running it on an input of the shape given with it, in a process of its own (its log goes to the
 * process's stderr), and the outputs' dims.
 */
function loadInOnnxRuntime(models: [Uint8Array, number[]][]): { stderr: string; dims: number[][] } {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-value-info-'));
  try {
    const runs = models.map(([bytes, input], i) => {
      const path = join(dir, `${i}.onnx`);
      writeFileSync(path, bytes);
      return { path, input };
    });
    const script = `
      import * as ort from 'onnxruntime-node';
      const dims = [];
      for (const { path, input: shape } of ${JSON.stringify(runs)}) {
        const session = await ort.InferenceSession.create(path, { logSeverityLevel: 2 });
        const x = new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b)), shape);
        const out = await session.run({ [session.inputNames[0]]: x });
        dims.push(out[session.outputNames[0]].dims);
      }
      console.log(JSON.stringify(dims));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return { stderr: run.stderr, dims: JSON.parse(run.stdout) as number[][] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("resnet18's export declares every node's shape, as shape propagation gives it, with 'batch' for dim 0", () => {
  const model = skipInit(() => resnet18()).eval();
  const inputShape = [1, 3, 224, 224];
  const declared = declaredShapes(exportOnnx(model, { inputShape }));

  // exportOnnx traces the module with a NodePathTracer; this twin of its graph has the same names.
  const tracer = new NodePathTracer();
  new ShapeProp(model, tracer.trace(model)).propagate({ dtype: 'float32', shape: inputShape });
  const traced = new Map(
    [...tracer.nodeToQualname].map(([node, name]) => [name, (node.meta.tensorMeta as TensorMeta).shape]),
  );
  assert.equal(declared.size, 70, 'x and the 69 nodes that compute');
  for (const [name, shape] of declared) {
    assert.deepEqual(shape, ['batch', ...traced.get(name)!.slice(1)], name);
  }
  assert.deepEqual(declared.get('layer1.0.add'), ['batch', 64, 56, 56]);
  assert.deepEqual(declared.get('fc'), ['batch', 1000]);
});

/** Sizes that follow the input's height and width, swapped, computed from them, and a size check. */
class SizedBlocks extends Module<[Tensor], Tensor> {
  same = new nn.Conv2d(3, 4, 3, { padding: 1 });
  down = new nn.Conv2d(2, 2, 3, { stride: 2, padding: 1 });
  forward(x: Tensor): Tensor {
    assertTrue(eq(x.dim(), 4), ['expected an image batch']);
    const swapped = this.same.call(x).permute([0, 1, 3, 2]);
    const [a, b] = F.chunk(swapped, 2, 1);
    return this.down.call(F.add(a!, b!));
  }
}

/** Adds its map to its transpose, which only a square map allows. */
class SquareOnly extends Module<[Tensor], Tensor> {
  same = new nn.Conv2d(3, 4, 3, { padding: 1 });
  forward(x: Tensor): Tensor {
    const y = this.same.call(x);
    return F.add(y, y.permute([0, 1, 3, 2]));
  }
}

test('dynamic sizes are declared by the input size they follow, or left undeclared; ONNX Runtime agrees', () => {
  const model = new SizedBlocks();
  const bytes = exportOnnx(model, { inputShape: [1, 3, 32, 32], dynamicSize: true });
  const declared = declaredShapes(bytes);
  assert.deepEqual(declared.get('same'), ['batch', 4, 'height', 'width']);
  // A square input leaves 'height' and 'width' apart only by the probes that grow each on its own.
  assert.deepEqual(declared.get('permute'), ['batch', 4, 'width', 'height']);
  assert.deepEqual(declared.get('add'), ['batch', 2, 'width', 'height']);
  assert.deepEqual(declared.get('down'), ['batch', 2, '?', '?'], 'a size computed from one is undeclared');
  // A comparison of sizes is typed by its op (bool), which export does not know: not declared.
  assert.equal(declared.get('eq'), undefined);

  const fixed = exportOnnx(model, { inputShape: [1, 3, 32, 32], dynamicBatch: false });
  assert.deepEqual(declaredShapes(fixed).get('down'), [1, 2, 16, 16]);

  // Every tensor a node makes is declared, a graph input only as the input.
  const valueInfo = decodeOnnxModel(bytes).graph!.valueInfo.map((v) => v.name);
  assert.deepEqual(valueInfo, ['same', 'permute', 'chunk', 'chunk:1', 'add', 'down']);

  // A model that takes square inputs only: the probes growing height or width alone fail, so no
  // spatial size is named; the fixed ones still are.
  const square = exportOnnx(new SquareOnly(), { inputShape: [1, 3, 32, 32], dynamicSize: true });
  assert.deepEqual(declaredShapes(square).get('same'), ['?', 4, '?', '?']);

  const onnxRuntime = loadInOnnxRuntime([
    [bytes, [2, 3, 20, 36]],
    [square, [2, 3, 20, 20]],
  ]);
  assert.equal(onnxRuntime.stderr, '');
  assert.deepEqual(onnxRuntime.dims, [
    [2, 2, 18, 10],
    [2, 4, 20, 20],
  ]);
});
