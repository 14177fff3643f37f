import assert from 'node:assert/strict';
import { test } from 'node:test';
import { F } from '../ops/index.js';
import { zeros } from '../tensor/creation.js';
import { checkOutputsFit } from './memory.js';

const GiB = 1024 ** 3;

test('outputs larger than the memory available are a RangeError naming the op, the shape and both sizes', () => {
  // The first convolution of resnet at 8192 × 8192: 64 × 4096 × 4096 float32.
  assert.throws(
    () => checkOutputsFit('conv2d', [{ dtype: 'float32', shape: [1, 64, 4096, 4096] }], () => 7 * GiB),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message ===
        '[conv2d] output of shape [1, 64, 4096, 4096] would need 4.0 GiB, twice over while ONNX Runtime hands it ' +
          'to JavaScript, and 7.0 GiB of memory is available. Use a smaller input (image size or batch), or free memory.',
  );
  assert.doesNotThrow(() =>
    checkOutputsFit('conv2d', [{ dtype: 'float32', shape: [1, 64, 4096, 4096] }], () => 9 * GiB),
  );
});

test('small outputs are not weighed against the available memory (asking costs more than the op)', () => {
  const unasked = (): number => assert.fail('available memory was asked for a 25 MiB output');
  // resnet50's largest activation at batch 8.
  assert.doesNotThrow(() => checkOutputsFit('relu', [{ dtype: 'float32', shape: [8, 64, 112, 112] }], unasked));
});

test('an output too large to allocate is a RangeError naming the op, the shape and the bytes, and the process goes on', () => {
  // float32 [2^20, 2^18]: 2^40 bytes.
  assert.throws(
    () => F.expand(zeros([1, 1]), [2 ** 20, 2 ** 18]),
    (e: unknown) =>
      e instanceof RangeError &&
      /^\[expand\] output of shape \[1048576, 262144\] \(float32\) would need 1\.0 TiB/.test(e.message) &&
      /smaller input/.test(e.message),
  );
  assert.deepEqual(F.expand(zeros([1, 1]), [2, 3]).shape, [2, 3]);
});
