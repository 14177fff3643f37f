import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import '../../src/autograd/index.js';
import * as nn from '../../src/nn/index.js';
import { Adam, SGD } from '../../src/optim/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose, fixtureTensor, loadFixture } from '../helpers/compare-with-torch.js';

function prefixed(tensors: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(tensors)
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, v]) => [k.slice(prefix.length), v]),
  );
}

describe("training loop: backward, step and zeroGrad on a module give PyTorch's weights", () => {
  for (const c of loadFixture('optim/training.json')) {
    it(c.name, () => {
      const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
      model.loadStateDict(prefixed(c.t, 'init.'));
      const params = model.parameters();
      const criterion = c.params.loss === 'mse' ? new nn.MSELoss() : new nn.CrossEntropyLoss();
      const options = c.params.options as { lr: number };
      const opt = c.params.optimizer === 'Adam' ? new Adam(params, options) : new SGD(params, options);
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) {
        opt.zeroGrad();
        const loss = criterion.call(model.call(fixtureTensor(c, 'x')) as Tensor, fixtureTensor(c, 'target'));
        loss.backward();
        opt.step();
        losses.push(loss.item());
      }
      (c.params.losses as number[]).forEach((expected, i) =>
        assert.ok(Math.abs(losses[i]! - expected) < 1e-5, `loss ${i}: ${losses[i]}, PyTorch gives ${expected}`),
      );
      const final = prefixed(c.t, 'final.');
      for (const [key, value] of model.stateDict()) assertClose(value, final[key]!, { rtol: 1e-4, atol: 1e-5 }, key);
      // The module still holds the tensors the optimizer updated.
      model.parameters().forEach((p, i) => assert.equal(p, params[i]));
    });
  }
});
