/**
 * Backward rules of the nn ops (conv2d, conv_transpose2d, linear, matmul, bmm, batch_norm,
 * layer_norm, group_norm, dropout): against PyTorch's gradients (scripts/fixtures/make_grads_nn.py)
 * and against finite differences.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grad } from '../../src/autograd/engine.js';
import { AutogradError } from '../../src/errors.js';
import { differentiate, lowerOps } from '../../src/fx/autodiff.js';
import { lowerOpen } from '../../src/fx/onnx-export.js';
import { symbolicTrace } from '../../src/fx/symbolic-trace.js';
import * as nn from '../../src/nn/index.js';
import { BatchNorm2d } from '../../src/nn/layers/batch-norm.js';
import { Module } from '../../src/nn/module.js';
import * as F from '../../src/ops/functional.js';
import { getOp } from '../../src/ops/registry.js';
import { NativeSession } from '../../src/runtime/native-session.js';
import { encodeModel } from '../../src/runtime/onnx-model.js';
import { randn, tensor } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/generator.js';
import { Tensor } from '../../src/tensor/tensor.js';
import '../../src/ops/tensor-methods.js';
import { type FixtureCase, assertClose, fixtureTensor, loadFixture } from '../helpers/compare-with-torch.js';
import { assertGradsMatch, gradcheck } from '../helpers/gradcheck.js';

const NN_OPS = [
  'conv2d',
  'conv_transpose2d',
  'linear',
  'matmul',
  'bmm',
  'batch_norm',
  'layer_norm',
  'group_norm',
  'dropout',
];

/** How each fixture op is called, from the case's (leaf) tensors and params. */
const CALLS: Record<string, (t: Record<string, Tensor | null>, p: Record<string, unknown>) => Tensor> = {
  conv2d: (t, p) => F.conv2d(t.input!, t.weight!, t.bias, p),
  conv_transpose2d: (t, p) => F.convTranspose2d(t.input!, t.weight!, t.bias, p),
  linear: (t) => F.linear(t.input!, t.weight!, t.bias),
  matmul: (t) => F.matmul(t.a!, t.b!),
  bmm: (t) => F.bmm(t.a!, t.b!),
  batch_norm: (t, p) => F.batchNorm(t.input!, t.running_mean!, t.running_var!, t.weight, t.bias, p),
  layer_norm: (t, p) => F.layerNorm(t.input!, p.normalizedShape as number[], t.weight, t.bias, 1e-5),
  group_norm: (t, p) => F.groupNorm(t.input!, p.numGroups as number, t.weight, t.bias, 1e-5),
};

/** The case's differentiated inputs (those with a `grad_` tensor) as leaves, and the rest as given. */
function leavesOf(c: FixtureCase): { named: Record<string, Tensor | null>; leaves: Tensor[]; expected: Tensor[] } {
  const named: Record<string, Tensor | null> = { bias: null, weight: null };
  const leaves: Tensor[] = [];
  const expected: Tensor[] = [];
  for (const [name, t] of Object.entries(c.t)) {
    if (name === 'gout' || name === 'out' || name.startsWith('grad_')) continue;
    const wanted = c.t[`grad_${name}`];
    named[name] = wanted === undefined ? t : t.detach().requiresGrad_();
    if (wanted !== undefined) {
      leaves.push(named[name]!);
      expected.push(wanted);
    }
  }
  return { named, leaves, expected };
}

describe('nn backward rules against PyTorch', () => {
  for (const c of loadFixture('grads/nn.json')) {
    it(c.name, () => {
      const { named, leaves, expected } = leavesOf(c);
      const out = CALLS[c.name.split(':')[0]!]!(named, c.params);
      if (c.t.out !== undefined) assertClose(out, c.t.out, {}, `${c.name} output`);
      const grads = grad(out, leaves, { gradOutputs: fixtureTensor(c, 'gout') });
      assertGradsMatch(grads, expected, { rtol: 1e-4, atol: 1e-4 }, c.name);
    });
  }

  it('BatchNorm2d in training: gradients of input, weight and bias as F.batch_norm with batch statistics', () => {
    const c = loadFixture('grads/nn.json').find((k) => k.name === 'batch_norm:train')!;
    const bn = new BatchNorm2d(3, { eps: 1e-3 });
    bn.weight = fixtureTensor(c, 'weight').detach().requiresGrad_();
    bn.bias = fixtureTensor(c, 'bias').detach().requiresGrad_();
    const x = fixtureTensor(c, 'input').detach().requiresGrad_();
    const out = bn.forward(x);
    const grads = grad(out, [x, bn.weight, bn.bias], { gradOutputs: fixtureTensor(c, 'gout') });
    const expected = ['grad_input', 'grad_weight', 'grad_bias'].map((k) => fixtureTensor(c, k));
    assertGradsMatch(grads, expected, { rtol: 1e-4, atol: 1e-4 }, 'BatchNorm2d');
    // The running statistics are buffers, outside the graph (as PyTorch's).
    assert.equal(bn.running_mean!.requiresGrad, false);
    assert.equal(bn.running_var!.requiresGrad, false);
  });
});

describe('nn backward rules against finite differences', () => {
  const gen = new Generator(3);
  const r = (shape: number[], dtype: 'float32' | 'float64' = 'float64'): Tensor =>
    randn(shape, { dtype, generator: gen });

  // ONNX Runtime has no float64 Conv or ConvTranspose: float32 with gradcheck's looser tolerance.
  it('conv2d (strided, grouped, padded; float32)', () => {
    gradcheck(
      (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1, groups: 2 }),
      [r([1, 2, 4, 3], 'float32'), r([4, 1, 3, 2], 'float32'), r([4], 'float32')],
    );
  });

  it('conv2d with a 1x1 kernel, strided and padded, on one image (float32)', () => {
    gradcheck(
      (x, w) => F.conv2d(x, w, null, { stride: 2, padding: 1 }),
      [r([1, 2, 3, 4], 'float32'), r([3, 2, 1, 1], 'float32')],
    );
  });

  it("conv2d with padding='same' and an even kernel (float32)", () => {
    gradcheck(
      (x, w) => F.conv2d(x, w, null, { padding: 'same' }),
      [r([1, 1, 4, 4], 'float32'), r([2, 1, 2, 2], 'float32')],
    );
  });

  it('conv_transpose2d (float32)', () => {
    gradcheck(
      (x, w, b) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
      [r([1, 2, 3, 2], 'float32'), r([2, 2, 3, 3], 'float32'), r([2], 'float32')],
    );
  });

  it('linear', () => gradcheck((x, w, b) => F.linear(x, w, b), [r([2, 2, 3]), r([2, 3]), r([2])]));

  it('matmul and bmm', () => {
    gradcheck((a, b) => F.matmul(a, b), [r([2, 1, 2, 3]), r([3, 3, 2])]);
    gradcheck((a, b) => F.matmul(a, b), [r([3]), r([2, 3, 2])]);
    gradcheck((a, b) => F.bmm(a, b), [r([2, 2, 3]), r([2, 3, 2])]);
  });

  it('batch_norm, training and eval', () => {
    const runningMean = r([2]);
    const runningVar = r([2]).abs().add(0.5);
    for (const training of [true, false]) {
      gradcheck(
        (x, w, b) => F.batchNorm(x, runningMean, runningVar, w, b, { training }),
        [r([3, 2, 2, 2]), r([2]), r([2])],
      );
    }
  });

  it('layer_norm', () => gradcheck((x, w, b) => F.layerNorm(x, [2, 3], w, b), [r([2, 2, 3]), r([2, 3]), r([2, 3])]));

  it('group_norm', () => gradcheck((x, w, b) => F.groupNorm(x, 2, w, b), [r([2, 4, 3]), r([4]), r([4])]));
});

it('conv_transpose2d refuses an output padding as large as both stride and dilation, as PyTorch', () => {
  assert.throws(
    () => F.convTranspose2d(randn([1, 2, 3, 3]), randn([2, 2, 3, 3]), null, { stride: 2, outputPadding: 2 }),
    (e: Error) =>
      e instanceof RangeError && /output padding must be smaller than either stride or dilation/.test(e.message),
  );
});

describe('dropout backward', () => {
  it("is the mask scaled by 1/(1-p): zero exactly where the output is, and the mask's scale elsewhere", () => {
    const x = randn([400], { generator: new Generator(1) })
      .add(10)
      .requiresGrad_();
    const y = F.dropout(x, { p: 0.3 });
    const [dx] = grad(y.sum(), [x]);
    const out = y.toArray() as number[];
    const g = dx!.toArray() as number[];
    const dropped = out.filter((v) => v === 0).length;
    assert.ok(dropped > 60 && dropped < 180, `${dropped} of 400 dropped with p=0.3`);
    out.forEach((v, i) => assert.ok(Math.abs(g[i]! - (v === 0 ? 0 : 1 / 0.7)) < 1e-6, `element ${i}: ${g[i]}`));
  });

  it('is the identity in eval mode and zero for p=1', () => {
    const x = tensor([1, -2, 3], { requiresGrad: true });
    assert.deepEqual(grad(F.dropout(x, { p: 0.5, training: false }).sum(), [x])[0]!.toArray(), [1, 1, 1]);
    assert.deepEqual(grad(F.dropout(x, { p: 1 }).sum(), [x])[0]!.toArray(), [0, 0, 0]);
  });

  it('refuses a dropout node whose mask it cannot see', () => {
    const rule = getOp('dropout').backward!;
    assert.throws(
      () => rule({ grad: tensor([1]), args: [tensor([1]), { p: 0.5 }], output: tensor([2]), needs: [true, false] }),
      (e: Error) => e instanceof AutogradError && /random mask is not an output/.test(e.message),
    );
  });
});

it('every op of the nn area has a backward rule', () => {
  for (const name of NN_OPS) assert.equal(typeof getOp(name).backward, 'function', name);
});

/** Strided, depthwise and pointwise convolutions, batch, group and layer norm, and a matmul. */
class ConvNet extends Module<[Tensor], Tensor> {
  conv = new nn.Conv2d(2, 4, 3, { stride: 2, padding: 1 });
  depthwise = new nn.Conv2d(4, 4, 3, { padding: 1, groups: 4 });
  pointwise = new nn.Conv2d(4, 6, 1);
  bn = new nn.BatchNorm2d(6);
  ln = new nn.LayerNorm([3]);
  mix = randn([3, 3]);

  forward(x: Tensor): Tensor {
    const h = this.bn.call(this.pointwise.call(this.depthwise.call(this.conv.call(x))));
    return this.ln.call(F.matmul(F.groupNorm(h, 2), this.mix));
  }
}

it('the rules differentiate a lowered graph symbolically, giving the eager gradients (train and eval)', () => {
  for (const training of [true, false]) {
    const model = new ConvNet();
    model.train(training);
    const x = randn([2, 2, 6, 6]);
    const y = model.call(x);
    y.mul(y).mean().backward();
    const traced = symbolicTrace(model);
    const open = lowerOpen(traced, traced.graph, [x.shape], { withTape: true });
    const tape = [...open.tape];
    const [loss] = lowerOps(open.builder, [open.result as never], (out) => [out.mul(out).mean()], tape);
    const params = model.parameters();
    const grads = differentiate(
      open.builder,
      tape,
      loss!,
      params.map((p) => open.initializers.get(p)!),
    );
    const outputs = grads.map((g, i) => ({ name: open.builder.rename(g!.name, `grad_${i}`), dtype: g!.dtype }));
    const session = new NativeSession(encodeModel(open.builder.finish('convnet_grad', outputs)), {
      intraOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    const results = session.run([{ type: 'float32', dims: x.shape, data: x.data }]);
    params.forEach((p, i) => {
      const r = results[i]!;
      const symbolic = new Tensor('float32', r.dims, r.data as Float32Array);
      assertClose(symbolic, p.grad!, { rtol: 1e-3, atol: 1e-5 }, `training=${training} param ${i}`);
    });
  }
});
