import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backward, grad } from '../../src/autograd/engine.js';
import { enableGrad, isGradEnabled, noGrad } from '../../src/autograd/grad-mode.js';
import { AutogradError } from '../../src/errors.js';
import { arange, randn, tensor, zeros } from '../../src/tensor/creation.js';
import '../../src/ops/tensor-methods.js';
import { gradcheck } from '../helpers/gradcheck.js';

describe('autograd engine', () => {
  it('accumulates broadcast gradients into leaves, as PyTorch', () => {
    const x = tensor([[1, 2, 3]], { requiresGrad: true });
    const y = tensor([[2], [3]], { requiresGrad: true });
    const z = x.mul(y).add(x).sub(y).mean();
    assert.equal(z.gradFn?.name, 'MeanBackward0');
    assert.equal(z.isLeaf, false);
    z.backward();
    // d/dx_j = sum_i (y_i + 1) / 6; d/dy_i = sum_j (x_j - 1) / 6
    assert.deepEqual(Array.from(x.grad!.data as Float32Array, (v) => +v.toFixed(5)), [1.16667, 1.16667, 1.16667]);
    assert.deepEqual(y.grad!.toArray(), [[0.5], [0.5]]);
    x.mul(2).sum().backward();
    assert.deepEqual(Array.from(x.grad!.data as Float32Array, (v) => +v.toFixed(5)), [3.16667, 3.16667, 3.16667]);
  });

  it('gives finite-difference gradients for a composite of the basic ops (float64)', () => {
    const a = randn([2, 3], { dtype: 'float64' });
    const b = randn([3], { dtype: 'float64' });
    gradcheck((p, q) => p.mul(q).sub(q.mul(q)).add(p.mul(p)).mean([1], true), [a, b]);
  });

  it('raises PyTorch errors for bad use', () => {
    assert.throws(() => zeros([1]).sum().backward(), (e: Error) =>
      e instanceof AutogradError && /does not require grad and does not have a gradFn/.test(e.message));
    const x = randn([3], { requiresGrad: true });
    assert.throws(() => x.mul(2).backward(), (e: Error) =>
      e instanceof AutogradError && /grad can be implicitly created only for scalar outputs/.test(e.message));
    const y = x.mul(x).sum();
    y.backward();
    assert.throws(() => y.backward(), (e: Error) =>
      e instanceof AutogradError && /backward through the graph a second time/.test(e.message));
    assert.throws(() => arange(3).requiresGrad_(), (e: Error) =>
      e instanceof AutogradError && /only tensors of floating-point dtype/.test(e.message));
    assert.throws(() => (x.mul(2).requiresGrad = false), (e: Error) =>
      e instanceof AutogradError && /only change requiresGrad flags of leaf tensors/.test(e.message));
  });

  it('keeps the graph with retainGraph and stores non-leaf gradients on retainGrad', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(3).retainGrad();
    const y = h.mul(h).sum();
    y.backward(null, { retainGraph: true });
    y.backward();
    assert.deepEqual(h.grad!.toArray(), [12, 24]);
    assert.deepEqual(x.grad!.toArray(), [36, 72]);
  });

  it('grad returns gradients without touching .grad, and computes only what leads to its inputs', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const x = tensor([3, 4], { requiresGrad: true });
    const h = x.mul(w);
    const [dh] = grad(h.mul(h).sum(), [h]);
    assert.deepEqual(dh!.toArray(), [6, 16]);
    assert.equal(w.grad, null);
    assert.equal(x.grad, null);
    assert.throws(() => grad(w.sum(), [x]), /not have been used in the graph/);
    assert.deepEqual(grad(w.sum(), [x], { allowUnused: true }), [null]);
  });

  it('records nothing inside noGrad, and detach cuts the history', () => {
    const x = randn([2], { requiresGrad: true });
    const y = noGrad(() => {
      assert.equal(isGradEnabled(), false);
      assert.equal(enableGrad(() => x.mul(2)).requiresGrad, true);
      return x.mul(2);
    });
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradFn, null);
    assert.equal(isGradEnabled(), true);
    const d = x.mul(2).detach();
    assert.equal(d.requiresGrad, false);
    assert.equal(d.isLeaf, true);
  });

  it('backward takes several outputs with their gradients', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    backward([x.mul(2), x.mul(x).sum()], [tensor([1, 1]), null]);
    assert.deepEqual(x.grad!.toArray(), [4, 6]);
  });
});
