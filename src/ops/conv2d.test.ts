import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClose, fixtureTensor, loadFixture } from '../../test/helpers/compare-with-torch.js';
import { randn } from '../tensor/creation.js';
import { F } from './index.js';

for (const c of loadFixture('ops/conv2d.json')) {
  test(`conv2d matches PyTorch: ${c.name}`, () => {
    const out = F.conv2d(fixtureTensor(c, 'input'), fixtureTensor(c, 'weight'), c.t.bias ?? null, c.params);
    assertClose(out, fixtureTensor(c, 'out'));
  });
}

test('conv2d rejects a 3-D input and says how to fix it', () => {
  assert.throws(() => F.conv2d(randn([3, 8, 8]), randn([4, 3, 3, 3])), {
    name: 'RangeError',
    message: /\[conv2d\] input must be 4-D.*got shape \[3, 8, 8\].*unsqueeze\(0\)/,
  });
});

test('conv2d rejects mismatched channels', () => {
  assert.throws(() => F.conv2d(randn([1, 2, 8, 8]), randn([4, 3, 3, 3])), /input has 2 channels/);
});
