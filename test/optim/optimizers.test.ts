import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Adam, AdamW, type Optimizer, SGD } from '../../src/optim/index.js';
import { tensor } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertClose, fixtureTensor, loadFixture } from '../helpers/compare-with-torch.js';

const OPTIMIZERS = { SGD, Adam, AdamW } as const;

function leaf(t: Tensor): Tensor {
  return new Tensor(t.dtype, t.shape, t.data.slice()).requiresGrad_();
}

describe("optimizers: five steps from fixed gradients equal PyTorch's", () => {
  for (const c of loadFixture('optim/optimizers.json')) {
    it(c.name, () => {
      const p0 = leaf(fixtureTensor(c, 'p0'));
      const p1 = leaf(fixtureTensor(c, 'p1'));
      const p0Storage = p0.data;
      const grouped = c.name === 'sgd_groups_none_grad';
      const opt: Optimizer<object> = grouped
        ? new SGD([{ params: [p0] }, { params: [p1], lr: 0.5 }], { lr: 0.1, momentum: 0.9 })
        : new OPTIMIZERS[c.params.optimizer as keyof typeof OPTIMIZERS]([p0, p1], c.params.options as object);
      for (let k = 0; k < (c.params.steps as number); k++) {
        p0.grad = fixtureTensor(c, `g0_${k}`);
        p1.grad = grouped ? null : fixtureTensor(c, `g1_${k}`);
        opt.step();
        assertClose(p0, fixtureTensor(c, `p0_${k}`), { rtol: 1e-5, atol: 1e-6 }, `p0 after step ${k + 1}`);
        assertClose(p1, fixtureTensor(c, `p1_${k}`), { rtol: 1e-5, atol: 1e-6 }, `p1 after step ${k + 1}`);
      }
      assert.equal(p0.data, p0Storage, "the update is written into the parameter's own storage");
    });
  }
});

describe("optimizer options are checked with PyTorch's wording", () => {
  const p = tensor([1, 2]).requiresGrad_();
  const cases: [string, () => unknown, RegExp][] = [
    ['lr < 0', () => new SGD([p], { lr: -1 }), /\[SGD\] Invalid learning rate: -1/],
    ['momentum < 0', () => new SGD([p], { momentum: -0.5 }), /Invalid momentum value: -0.5/],
    ['weightDecay < 0', () => new SGD([p], { weightDecay: -1 }), /Invalid weight_decay value: -1/],
    [
      'nesterov without momentum',
      () => new SGD([p], { nesterov: true }),
      /Nesterov momentum requires a momentum and zero dampening/,
    ],
    [
      'nesterov with dampening',
      () => new SGD([p], { nesterov: true, momentum: 0.9, dampening: 0.1 }),
      /Nesterov momentum/,
    ],
    ['beta1 = 1', () => new Adam([p], { betas: [1, 0.999] }), /\[Adam\] Invalid beta parameter at index 0: 1/],
    ['beta2 < 0', () => new AdamW([p], { betas: [0.9, -0.1] }), /\[AdamW\] Invalid beta parameter at index 1: -0.1/],
    ['eps < 0', () => new Adam([p], { eps: -1e-8 }), /Invalid epsilon value: -1e-8/],
    ["a group's lr < 0", () => new Adam([{ params: [p], lr: -0.1 }]), /Invalid learning rate: -0.1/],
    ['no params', () => new SGD([]), /optimizer got an empty parameter list/],
    [
      'a param twice',
      () => new SGD([{ params: [p] }, { params: [p] }]),
      /some parameters appear in more than one parameter group/,
    ],
  ];
  for (const [name, make, message] of cases) {
    it(name, () => assert.throws(make, (e: unknown) => e instanceof RangeError && message.test(e.message)));
  }
  it('a gradient of another shape than its param is a RangeError', () => {
    const q = tensor([1, 2, 3]).requiresGrad_();
    q.grad = tensor([1]);
    assert.throws(
      () => new SGD([q]).step(),
      (e: unknown) =>
        e instanceof RangeError && /parameter of shape \[3\] \(float32\) has a gradient of shape \[1\]/.test(e.message),
    );
  });

  it('a single tensor instead of a list is a TypeError', () => {
    assert.throws(
      () => new SGD(p as never),
      (e: unknown) => e instanceof TypeError && /iterable of Tensors or dicts/.test(e.message),
    );
  });
});

describe('zeroGrad, param groups and stateDict', () => {
  it('zeroGrad sets grads to null, or to zeros with setToNone false', () => {
    const p = tensor([1, 2]).requiresGrad_();
    const opt = new SGD([p], { lr: 0.1 });
    p.grad = tensor([3, 4]);
    opt.zeroGrad({ setToNone: false });
    assert.deepEqual(p.grad.toArray(), [0, 0]);
    opt.zeroGrad();
    assert.equal(p.grad, null);
  });

  it('groups take the defaults for options they do not give', () => {
    const a = tensor([1]).requiresGrad_();
    const b = tensor([2]).requiresGrad_();
    const opt = new Adam([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1, eps: 1e-6 });
    assert.deepEqual(
      opt.paramGroups.map((g) => [g.lr, g.eps, g.betas]),
      [
        [0.1, 1e-6, [0.9, 0.999]],
        [0.5, 1e-6, [0.9, 0.999]],
      ],
    );
  });

  it('a loaded state dict continues the trajectory where it was saved', () => {
    const start = [0.5, -1, 2];
    const grads = [tensor([0.1, -0.2, 0.3]), tensor([-0.4, 0.5, 0.1]), tensor([0.2, 0.2, -0.6])];
    const a = tensor(start).requiresGrad_();
    const optA = new Adam([a], { lr: 0.1, amsgrad: true });
    for (const g of grads) {
      a.grad = g;
      optA.step();
    }
    const b = tensor(start).requiresGrad_();
    const optB = new Adam([b], { lr: 0.1, amsgrad: true });
    b.grad = grads[0]!;
    optB.step();
    const saved = optB.stateDict();
    assert.deepEqual(Object.keys(saved.state[0]!).sort(), ['expAvg', 'expAvgSq', 'maxExpAvgSq', 'step']);
    assert.deepEqual(saved.paramGroups[0]!.params, [0]);
    const c = new Tensor(b.dtype, b.shape, b.data.slice()).requiresGrad_();
    const optC = new Adam([c], { lr: 0.9 });
    optC.loadStateDict(saved);
    assert.equal(optC.paramGroups[0]!.lr, 0.1);
    assert.equal(optC.paramGroups[0]!.amsgrad, true);
    for (const g of grads.slice(1)) {
      c.grad = g;
      optC.step();
    }
    assert.deepEqual(c.toArray(), a.toArray());
  });

  it('loadStateDict refuses a different group layout', () => {
    const p = tensor([1]).requiresGrad_();
    const q = tensor([1]).requiresGrad_();
    const saved = new SGD([p, q]).stateDict();
    assert.throws(
      () => new SGD([p]).loadStateDict(saved),
      (e: unknown) => e instanceof RangeError && /doesn't match the size of optimizer's group/.test(e.message),
    );
    assert.throws(
      () => new SGD([{ params: [p] }, { params: [q] }]).loadStateDict(saved),
      (e: unknown) => e instanceof RangeError && /different number of parameter groups/.test(e.message),
    );
  });
});
