import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFeatureExtractor } from '../featureExtraction/index.js';
import { resnet18 } from '../models/index.js';
import { randn } from '../tensor/creation.js';
import { F } from './index.js';

test('a float64 image into an eager extractor names the op, the input and the fix before ONNX Runtime sees it', () => {
  const extractor = createFeatureExtractor(resnet18().eval(), { returnNodes: ['layer1'] });
  const image = randn([1, 3, 32, 32], { dtype: 'float64' });
  assert.throws(
    () => extractor.call(image),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message ===
        "[conv2d] input is float64 but weight is float32: they must have the same dtype. Convert the input first with x.to('float32').",
  );
  assert.deepEqual(
    (extractor.call(image.to('float32')) as { layer1: { shape: number[] } }).layer1.shape,
    [1, 64, 8, 8],
  );
});

test('linear and matmul check their operand dtypes too', () => {
  assert.throws(
    () => F.linear(randn([2, 4], { dtype: 'float64' }), randn([3, 4])),
    /^TypeError: \[linear\] input is float64 but weight is float32/,
  );
  assert.throws(
    () => F.matmul(randn([2, 4]), randn([4, 3], { dtype: 'float64' })),
    /^TypeError: \[matmul\] input is float32 but other is float64/,
  );
});

test('a type ONNX Runtime has no kernel for (a float64 convolution) names the op, the types and the fix', () => {
  assert.throws(
    () => F.conv2d(randn([1, 2, 4, 4], { dtype: 'float64' }), randn([2, 2, 1, 1], { dtype: 'float64' })),
    (e: unknown) =>
      e instanceof TypeError &&
      e.message ===
        '[conv2d] ONNX Runtime has no Conv kernel for these types (input 0 is float64, input 1 is float64). ' +
          "Convert the tensors to float32 first, e.g. x.to('float32').",
  );
});
