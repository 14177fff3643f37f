import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grad } from '../../src/autograd/engine.js';
import * as nn from '../../src/nn/index.js';
import * as F from '../../src/ops/functional.js';
import { tensor } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { type FixtureCase, assertClose, fixtureTensor, loadFixture } from '../helpers/compare-with-torch.js';

const CASES = loadFixture('losses/losses.json');

/** Each fixture's loss, called with the case's options (and its weight tensors, when it has them). */
function callLoss(c: FixtureCase, input: Tensor, target: Tensor): Tensor {
  const [loss] = c.name.split(':');
  const options = c.params;
  const weight = c.t.weight ?? null;
  switch (loss) {
    case 'cross_entropy':
      return F.crossEntropy(input, target, { ...options, weight });
    case 'mse_loss':
      return F.mseLoss(input, target, options);
    case 'bce_with_logits':
      return F.binaryCrossEntropyWithLogits(input, target, { ...options, weight, posWeight: c.t.pos_weight ?? null });
    case 'smooth_l1_loss':
      return F.smoothL1Loss(input, target, options);
    default:
      throw new Error(`no loss for fixture ${c.name}`);
  }
}

function leaf(t: Tensor): Tensor {
  return new Tensor(t.dtype, t.shape, t.data).requiresGrad_();
}

describe("losses: values equal PyTorch's", () => {
  for (const c of CASES) {
    it(c.name, () => {
      assertClose(callLoss(c, fixtureTensor(c, 'input'), fixtureTensor(c, 'target')), fixtureTensor(c, 'out'));
    });
  }
});

describe("losses: gradients equal PyTorch's", () => {
  for (const c of CASES) {
    it(c.name, () => {
      const input = leaf(fixtureTensor(c, 'input'));
      const floatTarget = c.t.grad_target !== undefined;
      const target = floatTarget ? leaf(fixtureTensor(c, 'target')) : fixtureTensor(c, 'target');
      const objective = F.sum(F.mul(callLoss(c, input, target), fixtureTensor(c, 'w')));
      const [gradInput, gradTarget] = grad(objective, floatTarget ? [input, target] : [input]);
      assertClose(gradInput, fixtureTensor(c, 'grad_input'), {}, 'input');
      if (floatTarget) assertClose(gradTarget, fixtureTensor(c, 'grad_target'), {}, 'target');
    });
  }
});

describe('loss modules', () => {
  const logits = tensor([
    [1, 2, 0.5],
    [0.1, -1, 2],
  ]);
  const labels = tensor([2, 0], { dtype: 'int64' });

  it('CrossEntropyLoss holds its options and weight (a buffer) and gives F.crossEntropy', () => {
    const weight = tensor([1, 2, 0.5]);
    const criterion = new nn.CrossEntropyLoss({ weight, labelSmoothing: 0.1, reduction: 'sum' });
    assert.deepEqual([...criterion.stateDict().keys()], ['weight']);
    assert.equal(criterion.parameters().length, 0);
    assertClose(
      criterion.call(logits, labels),
      F.crossEntropy(logits, labels, { weight, labelSmoothing: 0.1, reduction: 'sum' }),
      { rtol: 0, atol: 0 },
    );
  });

  it('MSELoss, SmoothL1Loss and BCEWithLogitsLoss give their functions', () => {
    const target = tensor([
      [0, 1, 1],
      [1, 0, 0.5],
    ]);
    const posWeight = tensor([2, 1, 0.5]);
    assertClose(
      new nn.MSELoss({ reduction: 'none' }).call(logits, target),
      F.mseLoss(logits, target, { reduction: 'none' }),
    );
    assertClose(new nn.SmoothL1Loss({ beta: 0.5 }).call(logits, target), F.smoothL1Loss(logits, target, { beta: 0.5 }));
    const bce = new nn.BCEWithLogitsLoss({ posWeight });
    assert.deepEqual([...bce.stateDict().keys()], ['pos_weight']);
    assertClose(bce.call(logits, target), F.binaryCrossEntropyWithLogits(logits, target, { posWeight }));
  });
});

describe('loss errors', () => {
  const logits = tensor([
    [1, 2, 0.5],
    [0.1, -1, 2],
  ]);
  const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
    [
      'an unknown reduction',
      () => F.mseLoss(logits, logits, { reduction: 'avg' as never }),
      RangeError,
      /"avg" is not a valid value for reduction/,
    ],
    [
      'a class index out of range',
      () => F.crossEntropy(logits, tensor([3, 0], { dtype: 'int64' })),
      RangeError,
      /Target 3 is out of bounds/,
    ],
    [
      'a target of the wrong shape',
      () => F.crossEntropy(logits, tensor([0, 1, 2], { dtype: 'int64' })),
      RangeError,
      /target of shape \[3\] does not match input of shape \[2, 3\]/,
    ],
    [
      'float32 class indices of the wrong shape',
      () => F.crossEntropy(logits, tensor([0, 1])),
      RangeError,
      /probability target of shape \[2\]/,
    ],
    [
      'int32 class indices',
      () => F.crossEntropy(logits, tensor([0, 1], { dtype: 'int32' })),
      TypeError,
      /class-index targets must be int64/,
    ],
    [
      'a weight per class of the wrong size',
      () => F.crossEntropy(logits, tensor([0, 1], { dtype: 'int64' }), { weight: tensor([1, 2]) }),
      RangeError,
      /weight tensor should be defined either for all 3 classes/,
    ],
    [
      'labelSmoothing above 1',
      () => F.crossEntropy(logits, tensor([0, 1], { dtype: 'int64' }), { labelSmoothing: 1.5 }),
      RangeError,
      /label_smoothing must be between 0.0 and 1.0. Got: 1.5/,
    ],
    [
      'a negative beta',
      () => F.smoothL1Loss(logits, logits, { beta: -1 }),
      RangeError,
      /does not support negative values for beta/,
    ],
    [
      'a BCE target of another size',
      () => F.binaryCrossEntropyWithLogits(logits, tensor([1, 0, 1])),
      RangeError,
      /Target size \(\[3\]\) must be the same as input size \(\[2, 3\]\)/,
    ],
  ];
  for (const [name, call, type, message] of cases) {
    it(name, () => assert.throws(call, (e: unknown) => e instanceof type && message.test(e.message)));
  }
});
