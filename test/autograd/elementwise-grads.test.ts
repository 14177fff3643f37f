/**
 * Backward rules of the elementwise, activation, reduction and softmax ops: against PyTorch's
 * gradients (test/fixtures/grads/elementwise.json, from scripts/fixtures/make_grads_elementwise.py)
 * and against finite differences on float64 inputs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grad } from '../../src/autograd/engine.js';
import { differentiate, lowerOps, type TapeEntry } from '../../src/fx/autodiff.js';
import { GraphBuilder } from '../../src/ops/lowering.js';
import { NativeSession } from '../../src/runtime/native-session.js';
import { encodeModel } from '../../src/runtime/onnx-model.js';
import * as F from '../../src/ops/functional.js';
import { getOp } from '../../src/ops/registry.js';
import { randn, tensor } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/generator.js';
import type { DType } from '../../src/tensor/dtype.js';
import { Tensor } from '../../src/tensor/tensor.js';
import '../../src/ops/tensor-methods.js';
import { type FixtureCase, assertClose, fixtureTensor, loadFixture } from '../helpers/compare-with-torch.js';
import { gradcheck } from '../helpers/gradcheck.js';

/** Every op of this area that can return floating point, by registry name. */
const OPS = [
  'abs',
  'amax',
  'clamp',
  'div',
  'erf',
  'exp',
  'floordiv',
  'gelu',
  'hardsigmoid',
  'hardswish',
  'log',
  'maximum',
  'minimum',
  'neg',
  'pow',
  'relu',
  'relu6',
  'sigmoid',
  'silu',
  'softmax',
  'log_softmax',
  'sqrt',
  'tanh',
  'where',
  'masked_fill',
  'to',
];

type Case = FixtureCase;
const num = (c: Case, key: string): number => c.params[key] as number;

/** The op call of each fixture case, on its differentiable inputs (a, then b). */
const CALLS: Record<string, (c: Case, a: Tensor, b: Tensor) => Tensor> = {
  abs: (_, a) => F.abs(a),
  erf: (_, a) => F.erf(a),
  exp: (_, a) => F.exp(a),
  neg: (_, a) => F.neg(a),
  sigmoid: (_, a) => F.sigmoid(a),
  silu: (_, a) => F.silu(a),
  tanh: (_, a) => F.tanh(a),
  relu: (_, a) => F.relu(a),
  relu6: (_, a) => F.relu6(a),
  hardsigmoid: (_, a) => F.hardsigmoid(a),
  hardswish: (_, a) => F.hardswish(a),
  log: (_, a) => F.log(a),
  sqrt: (_, a) => F.sqrt(a),
  gelu: (c, a) => F.gelu(a, c.params as F.GeluOptions),
  clamp: (c, a) => F.clamp(a, c.params as F.ClampOptions),
  div: (c, a, b) =>
    c.name === 'div:number'
      ? F.div(a, num(c, 'other'))
      : c.name === 'div:number_by_tensor'
        ? F.div(num(c, 'input'), a)
        : F.div(a, b),
  pow: (c, a, b) =>
    'exponent' in c.params
      ? F.pow(a, num(c, 'exponent'))
      : 'input' in c.params
        ? F.pow(num(c, 'input'), a)
        : F.pow(a, b),
  maximum: (c, a, b) => ('other' in c.params ? F.maximum(a, num(c, 'other')) : F.maximum(a, b)),
  minimum: (_, a, b) => F.minimum(a, b),
  where: (c, a, b) => F.where(fixtureTensor(c, 'cond'), a, 'other' in c.params ? num(c, 'other') : b),
  masked_fill: (c, a) => F.maskedFill(a, fixtureTensor(c, 'cond'), num(c, 'value')),
  softmax: (c, a) => F.softmax(a, num(c, 'dim')),
  log_softmax: (c, a) => F.logSoftmax(a, num(c, 'dim')),
  amax: (c, a) => F.amax(a, c.params.dim as number[] | number | undefined, c.params.keepdim as boolean | undefined),
  to: (c, a) => F.to(a, c.params.dtype as DType),
};

describe('elementwise backward rules', () => {
  it('every op of the area has a backward rule', () => {
    const missing = OPS.filter((name) => getOp(name).backward === undefined);
    assert.deepEqual(missing, []);
  });

  for (const c of loadFixture('grads/elementwise.json')) {
    it(`${c.name} matches PyTorch's gradients`, () => {
      const call = CALLS[c.name.split(':')[0]!];
      assert.ok(call !== undefined, `no call for fixture case ${c.name}`);
      const inputs = ['a', 'b'].filter((k) => k in c.t).map((k) => c.t[k]!.requiresGrad_());
      const out = call(c, inputs[0]!, inputs[1]!);
      const grads = grad(out, inputs, { gradOutputs: fixtureTensor(c, 'gout'), allowUnused: true });
      ['grad_a', 'grad_b'].slice(0, inputs.length).forEach((k, i) => {
        if (k in c.t) assertClose(grads[i], c.t[k]!, {}, `${c.name} ${k}`);
        else assert.equal(grads[i], null, `${c.name}: PyTorch gives no ${k}`);
      });
    });
  }

  for (const c of loadFixture('grads/elementwise.json')) {
    it(`${c.name} matches PyTorch's gradients when differentiated symbolically (one ONNX graph)`, () => {
      const call = CALLS[c.name.split(':')[0]!]!;
      const given = ['a', 'b'].filter((k) => k in c.t).map((k) => c.t[k]!);
      const gout = fixtureTensor(c, 'gout');
      const builder = new GraphBuilder();
      const inputs = given.map((t, i) => builder.addInput(`in${i}`, t.dtype, t.shape));
      const seed = builder.addInput('gout', gout.dtype, gout.shape);
      const tape: TapeEntry[] = [];
      const [out] = lowerOps(builder, inputs, (a, b) => [call(c, a!, b!)], tape);
      const grads = differentiate(builder, tape, out!, inputs, seed);
      const names = grads.map((g, i) => (g === null ? null : builder.rename(g.name, `grad_${i}`)));
      const outputs = grads.flatMap((g, i) => (g === null ? [] : [{ name: names[i]!, dtype: g.dtype }]));
      const session = new NativeSession(encodeModel(builder.finish('grads', outputs)), {
        intraOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
      const results = session.run([...given, gout].map((t) => ({ type: t.dtype, dims: t.shape, data: t.data })));
      let next = 0;
      ['grad_a', 'grad_b'].slice(0, given.length).forEach((k, i) => {
        if (!(k in c.t)) return assert.equal(grads[i], null, `${c.name}: PyTorch gives no ${k}`);
        const r = results[next++]!;
        assertClose(new Tensor(grads[i]!.dtype, r.dims, r.data as never), c.t[k]!, {}, `${c.name} ${k}`);
      });
    });
  }

  it('rounded division has no gradient', () => {
    const x = tensor([1.5, -2.5, 4], { requiresGrad: true });
    for (const y of [
      F.div(x, 2, { roundingMode: 'floor' }),
      F.div(x, 2, { roundingMode: 'trunc' }),
      F.floordiv(x, 2),
    ]) {
      assert.deepEqual(grad(y.sum(), [x], { allowUnused: true }), [null]);
    }
  });

  it('a cast to an integer dtype carries no gradient', () => {
    const x = tensor([1.5, -2.5], { requiresGrad: true });
    assert.equal(F.to(x, 'int64').requiresGrad, false);
  });
});

describe('elementwise backward rules against finite differences (float64)', () => {
  const gen = new Generator(11);
  const r = (...shape: number[]): Tensor => randn(shape, { dtype: 'float64', generator: gen });
  // Spread over every op's pieces, at least 0.2 from the kinks at 0, +-1.05, 2.05, +-3 and 6, and without ties.
  const x = tensor(
    [
      [-6.5, -3.4, -2.2, -0.7],
      [-0.3, 0.4, 1.1, 2.6],
      [3.3, 5.2, 6.4, 1.7],
    ],
    { dtype: 'float64' },
  );
  const positive = F.add(F.abs(r(3, 4)), 0.3);
  const unary: Record<string, (t: Tensor) => Tensor> = {
    // Not here: erf, gelu (exact), hardsigmoid, hardswish (no float64 kernels in ONNX Runtime) and silu
    // (ONNX Runtime fuses its x * sigmoid(x) into QuickGelu, which has none); the fixtures cover them.
    abs: F.abs,
    exp: F.exp,
    neg: F.neg,
    sigmoid: F.sigmoid,
    tanh: F.tanh,
    relu: F.relu,
    relu6: F.relu6,
    gelu_tanh: (t) => F.gelu(t, { approximate: 'tanh' }),
    clamp: (t) => F.clamp(t, { min: -1.05, max: 2.05 }),
    softmax: (t) => F.softmax(t, 1),
    log_softmax: (t) => F.logSoftmax(t, 0),
    amax: (t) => F.amax(t, 1),
  };
  for (const [name, fn] of Object.entries(unary)) {
    it(name, () => gradcheck(fn, [x]));
  }
  it('log, sqrt', () => {
    gradcheck(F.log, [positive]);
    gradcheck(F.sqrt, [positive]);
  });
  it('div, pow, maximum, minimum (both operands, broadcast)', () => {
    const b = F.add(F.abs(r(4)), 0.5);
    gradcheck((p, q) => F.div(p, q), [x, b]);
    gradcheck((p, q) => F.pow(p, q), [positive, r(4)]);
    gradcheck((p) => F.pow(p, 3), [x]);
    gradcheck((q) => F.pow(1.5, q), [x]);
    gradcheck((p, q) => F.maximum(p, q), [x, r(4)]);
    gradcheck((p, q) => F.minimum(p, q), [x, r(4)]);
  });
  it('where, masked_fill', () => {
    const cond = F.gt(r(3, 4), 0);
    gradcheck((p, q) => F.where(cond, p, q), [r(3, 4), r(1, 4)]);
    const mask = F.gt(r(1, 4), 0);
    gradcheck((p) => F.maskedFill(p, mask, 2), [r(3, 4)]);
  });
});
