import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { CNN, LenModule, TestModule } from '../../test/helpers/example-modules.js';
import { createFeatureExtractor } from '../featureExtraction/create-feature-extractor.js';
import { resnet18 } from '../models/resnet.js';
import { randn } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { compile } from './compile.js';
import { exportOnnx } from './onnx-export.js';

function assertParity(eager: Record<string, Tensor>, compiled: Record<string, Tensor>, tol = 1e-5): void {
  assert.deepEqual(Object.keys(compiled), Object.keys(eager));
  for (const [key, e] of Object.entries(eager)) {
    const c = compiled[key]!;
    assert.deepEqual([...c.shape], [...e.shape], key);
    const a = e.data as Float32Array;
    const b = c.data as Float32Array;
    for (let i = 0; i < a.length; i++) {
      assert.ok(
        Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(a[i]!)),
        `${key}[${i}]: eager ${a[i]}, compiled ${b[i]}`,
      );
    }
  }
}

test('compiled feature extractors give the eager outputs (toy CNN, torchvision test module)', () => {
  const cnn = createFeatureExtractor(new CNN(3, 3, 10).eval(), {
    returnNodes: ['blocks.0', 'blocks.2.convs.1', 'cls'],
  });
  const x = randn([2, 3, 32, 32]);
  assertParity(cnn.call(x) as Record<string, Tensor>, compile(cnn).call(x) as Record<string, Tensor>);
  const small = createFeatureExtractor(new TestModule(), { returnNodes: ['submodule.relu_1', 'add_1'] });
  const y = randn([3, 4]);
  assertParity(small.eval().call(y) as Record<string, Tensor>, compile(small).call(y) as Record<string, Tensor>);
});

test('compiled resnet18 matches eager at every stage, with a dynamic batch size', async () => {
  const extractor = createFeatureExtractor(resnet18().eval(), {
    returnNodes: ['layer1', 'layer2', 'layer3', 'layer4', 'fc'],
  });
  const compiled = compile(extractor);
  for (const batch of [1, 3]) {
    const x = randn([batch, 3, 64, 64]);
    assertParity(extractor.call(x) as Record<string, Tensor>, compiled.call(x) as Record<string, Tensor>);
  }
  const x = randn([2, 3, 64, 64]);
  assertParity(compiled.call(x) as Record<string, Tensor>, (await compiled.run(x)) as Record<string, Tensor>, 0);
});

test('an exported model reloads in onnxruntime-node with the same outputs, keys as output names, node names kept', async () => {
  const extractor = createFeatureExtractor(resnet18().eval(), { returnNodes: { layer2: 'mid', layer3: 'deep' } });
  const bytes = exportOnnx(extractor, { inputShape: [1, 3, 64, 64] });
  const session = await ort.InferenceSession.create(bytes);
  assert.deepEqual(session.inputNames, ['x']);
  assert.deepEqual(session.outputNames, ['mid', 'deep']);
  const x = randn([2, 3, 64, 64]);
  const result = await session.run({ x: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) });
  const eager = extractor.call(x) as Record<string, Tensor>;
  for (const key of ['mid', 'deep']) {
    const e = eager[key]!.data as Float32Array;
    const r = result[key]!.data as Float32Array;
    assert.deepEqual([...result[key]!.dims], [...eager[key]!.shape]);
    assert.ok(
      e.every((v, i) => Math.abs(v - r[i]!) <= 1e-5 * (1 + Math.abs(v))),
      key,
    );
  }
  const text = Buffer.from(bytes);
  assert.ok(text.includes('layer3.1.conv2/Conv'), 'ONNX nodes carry the featurefx node names');
  assert.ok(text.includes('layer3.1.conv2.weight'), 'initializers are named by parameter path');
  assert.ok(
    !text.includes('layer4.0.conv1.weight') && !text.includes('fc.weight'),
    'pruned parameters are not exported',
  );
});

test('a wrapped JavaScript function cannot be exported, and the error names the node', () => {
  const extractor = createFeatureExtractor(new LenModule(), { returnNodes: ['len'] });
  assert.throws(() => exportOnnx(extractor, { inputShape: [2, 2] }), {
    name: 'ExportError',
    message: /cannot export node 'len'.*the wrapped function 'len' runs JavaScript/,
  });
});
