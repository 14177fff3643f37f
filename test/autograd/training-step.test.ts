import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutogradError } from '../../src/errors.js';
import { compileTrainingStep } from '../../src/fx/training-step.js';
import * as nn from '../../src/nn/index.js';
import { Module } from '../../src/nn/module.js';
import * as F from '../../src/ops/functional.js';
import '../../src/ops/tensor-methods.js';
import { Adam, AdamW } from '../../src/optim/adam.js';
import type { Optimizer } from '../../src/optim/optimizer.js';
import { SGD } from '../../src/optim/sgd.js';
import { manualSeed } from '../../src/tensor/generator.js';
import { randn, tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/compare-with-torch.js';

class SmallNet extends Module<[Tensor], Tensor> {
  // No bias before BatchNorm (as in real CNNs): BatchNorm cancels it, so its gradient is rounding
  // noise, which Adam divides by its own square root into steps of about lr whose sign is chance.
  conv = new nn.Conv2d(3, 8, 3, { padding: 1, bias: false });
  bn = new nn.BatchNorm2d(8);
  pool = new nn.MaxPool2d(2);
  head = new nn.Linear(8, 4);
  forward(x: Tensor): Tensor {
    const h = this.pool.call(F.relu(this.bn.call(this.conv.call(x))));
    return this.head.call(F.flatten(F.adaptiveAvgPool2d(h, 1), 1));
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any optimizer
type MakeOptimizer = (params: Tensor[]) => Optimizer<any>;

/** Three steps eagerly and compiled from the same start: parameters, running stats and losses agree. */
function compareSteps(makeOptimizer: MakeOptimizer): void {
  manualSeed(3);
  const eager = new SmallNet();
  const compiled = eager.clone();
  const eagerOpt = makeOptimizer(eager.parameters());
  const compiledOpt = makeOptimizer(compiled.parameters());
  const loss = (logits: Tensor, labels: Tensor): Tensor => F.crossEntropy(logits, labels);
  const step = compileTrainingStep(compiled, { loss, optimizer: compiledOpt });
  const labels = tensor([0, 1, 2, 3], { dtype: 'int64' });
  for (let i = 0; i < 3; i++) {
    const x = randn([4, 3, 8, 8]);
    eagerOpt.zeroGrad();
    const l = loss(eager.call(x), labels);
    l.backward();
    eagerOpt.step();
    assertClose(step.call(x, labels), l.detach(), { rtol: 1e-4, atol: 1e-5 }, `loss ${i}`);
  }
  const compiledState = compiled.stateDict();
  for (const [key, t] of eager.stateDict()) assertClose(compiledState.get(key)!, t, { rtol: 1e-3, atol: 1e-5 }, key);
}

describe('compileTrainingStep: forward, loss, backward and update in one session', () => {
  it('follows eager SGD with momentum, dampening and weight decay, BatchNorm statistics included', () => {
    compareSteps((p) => new SGD(p, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3 }));
  });

  it('follows eager Adam and AdamW (bias corrections fed per step)', () => {
    compareSteps((p) => new Adam(p, { lr: 0.01 }));
    compareSteps((p) => new AdamW(p, { lr: 0.01, amsgrad: true }));
  });

  it('leaves frozen parameters alone, and refuses a loss with more than one element', () => {
    const net = new SmallNet();
    net.conv.requiresGrad_(false);
    const before = Array.from(net.conv.weight.data as Float32Array);
    const headBefore = Array.from(net.head.weight.data as Float32Array);
    const optimizer = new SGD(net.parameters(), { lr: 0.1 });
    const step = compileTrainingStep(net, { loss: (y: Tensor) => y.mean(), optimizer });
    step.call(randn([2, 3, 8, 8]));
    assert.deepEqual(Array.from(net.conv.weight.data as Float32Array), before);
    assert.notDeepEqual(Array.from(net.head.weight.data as Float32Array), headBefore);
    const perSample = compileTrainingStep(net, { loss: (y: Tensor) => y.sum(1), optimizer });
    assert.throws(
      () => perSample.call(randn([2, 3, 8, 8])),
      (e: Error) => e instanceof AutogradError && /the loss must have one element/.test(e.message),
    );
  });
});
