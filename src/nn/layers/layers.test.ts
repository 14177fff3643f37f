import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FixtureCase, assertClose, fixtureTensor, loadFixture } from '../../../test/helpers/compare-with-torch.js';
import type { Tensor } from '../../tensor/tensor.js';
import * as nn from '../index.js';
import type { Module } from '../module.js';

const BUILD: Record<string, (c: FixtureCase) => Module> = {
  Conv2d: () => new nn.Conv2d(4, 6, 3, { stride: 2, padding: 1 }),
  Linear: () => new nn.Linear(5, 3),
  LayerNorm: () => new nn.LayerNorm(5),
  GroupNorm: () => new nn.GroupNorm(2, 4),
  BatchNorm2d_eval: () => new nn.BatchNorm2d(4),
  BatchNorm2d_train: () => new nn.BatchNorm2d(4),
  BatchNorm2d_train_cumulative: () => new nn.BatchNorm2d(4, { momentum: null }),
  MultiheadAttention: () => new nn.MultiheadAttention(8, 2, { batchFirst: true }),
};

function prefixed(c: FixtureCase, prefix: string): Map<string, Tensor> {
  return new Map(Object.entries(c.t).flatMap(([k, t]) => (k.startsWith(prefix) ? [[k.slice(prefix.length), t]] : [])));
}

for (const c of loadFixture('nn/layers.json')) {
  test(`${c.name} matches PyTorch with PyTorch's weights`, () => {
    const layer = BUILD[c.name]!(c);
    layer.loadStateDict(prefixed(c, 'sd.'));
    layer.train(c.name.includes('_train'));
    const x = fixtureTensor(c, 'input');
    const result = c.name === 'MultiheadAttention' ? (layer.call(x, x, x) as [Tensor])[0] : layer.call(x);
    assertClose(result, fixtureTensor(c, 'out'), { rtol: 1e-4, atol: 1e-5 });
    for (const [key, t] of prefixed(c, 'after.')) {
      assertClose(layer.stateDict().get(key), t, { rtol: 1e-5, atol: 1e-6 }, `${key} after one training step`);
    }
  });
}

test('a training step updates running statistics; eval uses them and leaves them alone', () => {
  const bn = new nn.BatchNorm2d(4);
  const before = bn.running_mean;
  const c = loadFixture('nn/layers.json').find((f) => f.name === 'BatchNorm2d_train')!;
  bn.call(fixtureTensor(c, 'input'));
  assert.notEqual(bn.running_mean, before);
  assert.equal(bn.num_batches_tracked!.item(), 1);
  const stats = bn.running_mean;
  bn.eval().call(fixtureTensor(c, 'input'));
  assert.equal(bn.running_mean, stats);
});
