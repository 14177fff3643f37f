/**
 * Backward rules of the shape, layout and indexing ops: PyTorch's input gradients for the same
 * calls (test/fixtures/grads/shape.json, from scripts/fixtures/make_grads_shape.py) and finite
 * differences on float64.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grad } from '../../src/autograd/engine.js';
import { type TapeEntry, differentiate, lowerOps } from '../../src/fx/autodiff.js';
import * as F from '../../src/ops/functional.js';
import { GraphBuilder } from '../../src/ops/lowering.js';
import { getOp } from '../../src/ops/registry.js';
import { NativeSession } from '../../src/runtime/native-session.js';
import { encodeModel } from '../../src/runtime/onnx-model.js';
import { randn, tensor } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import '../../src/ops/tensor-methods.js';
import { type FixtureCase, assertClose, loadFixture } from '../helpers/compare-with-torch.js';
import { gradcheck } from '../helpers/gradcheck.js';

const S = F.slice;
const IDX = tensor([[0, 2], [2, -1]], { dtype: 'int64' });
const SCATTER_IDX = tensor([[0, 2, 0, 1], [2, 2, 0, 1]], { dtype: 'int64' });

/** The calls of the fixture script's CASES, by case name. */
const CALLS: Record<string, (...xs: Tensor[]) => Tensor | readonly Tensor[]> = {
  cat: (a, b) => F.cat([a!, b!], 1),
  cat_neg_dim: (a, b) => F.cat([a!, b!], -2),
  stack: (a, b) => F.stack([a!, b!], -1),
  expand: (a) => F.expand(a!, [2, 3, -1]),
  expand_new_dims: (a) => F.expand(a!, [2, 3, 4]),
  repeat: (a) => F.repeat(a!, [2, 1, 2]),
  flatten: (a) => F.flatten(a!, 1),
  flatten_middle: (a) => F.flatten(a!, 1, 2),
  getitem_int: (a) => F.getitem(a!, 1),
  getitem_negative_int: (a) => F.getitem(a!, [S(), -1]),
  getitem_slice: (a) => F.getitem(a!, [S(1, 3), S(-3)]),
  getitem_step: (a) => F.getitem(a!, [S(1, 5, 3), S(null, null, 2)]),
  getitem_step_overrun: (a) => F.getitem(a!, S(2, null, 2)),
  getitem_none_ellipsis: (a) => F.getitem(a!, [null, '...', S(1), null]),
  getitem_ellipsis_int: (a) => F.getitem(a!, ['...', -2]),
  getitem_empty: (a) => F.getitem(a!, S(3, 1)),
  getitem_tensor: (a) => F.getitem(a!, [S(), IDX]),
  pad_constant: (a) => F.pad(a!, [1, 2, 0, 1], { value: 1.5 }),
  pad_negative: (a) => F.pad(a!, [-1, 2, 1, -1]),
  pad_reflect: (a) => F.pad(a!, [2, 1, 3, 2], { mode: 'reflect' }),
  pad_replicate: (a) => F.pad(a!, [2, 1, 1, 2], { mode: 'replicate' }),
  permute: (a) => F.permute(a!, [2, 0, 1]),
  transpose: (a) => F.transpose(a!, 0, -1),
  contiguous: (a) => F.contiguous(a!),
  reshape: (a) => F.reshape(a!, [3, -1]),
  view: (a) => F.view(a!, [4, 3]),
  roll: (a) => F.roll(a!, [1, -2], [0, 1]),
  roll_one_dim: (a) => F.roll(a!, 7, 0),
  split: (a) => F.split(a!, 2, 1),
  split_sections: (a) => F.split(a!, [1, 3], 0),
  chunk: (a) => F.chunk(a!, 3, 0),
  squeeze: (a) => F.squeeze(a!),
  squeeze_dim: (a) => F.squeeze(a!, 1),
  unsqueeze: (a) => F.unsqueeze(a!, -1),
  scatter_add: (a, src) => F.scatterAdd(a!, 0, SCATTER_IDX, src!),
};

const cases = loadFixture('grads/shape.json');

function inputsOf(c: FixtureCase): Tensor[] {
  return Object.keys(c.t).filter((k) => /^x\d+$/.test(k)).sort().map((k) => c.t[k]!);
}

/** The used outputs as one tensor (list outputs flattened and joined), for single-output checks. */
function joined(out: Tensor | readonly Tensor[]): Tensor {
  const outs = usedOutputs(out);
  return outs.length === 1 ? outs[0]! : F.cat(outs.map((o) => F.reshape(o, [-1])));
}

/**
 * The input gradients when the rules are lowered into one ONNX graph with the forward (symbolic
 * differentiation), which only works if they read shapes and dtypes, never data.
 */
function symbolicGradients(c: FixtureCase): Tensor[] {
  const given = inputsOf(c);
  const gouts = Object.keys(c.t).filter((k) => k.startsWith('gout')).sort().map((k) => c.t[k]!);
  const gout = gouts.length === 1 ? gouts[0]! : F.cat(gouts.map((g) => F.reshape(g, [-1])));
  const builder = new GraphBuilder();
  const inputs = given.map((t, i) => builder.addInput(`in${i}`, t.dtype, t.shape));
  const seed = builder.addInput('gout', gout.dtype, gout.shape);
  const tape: TapeEntry[] = [];
  const [out] = lowerOps(builder, inputs, (...xs) => [joined(CALLS[c.name]!(...xs))], tape);
  const grads = differentiate(builder, tape, out!, inputs, seed);
  const outputs = grads.map((g, i) => ({ name: builder.rename(g!.name, `grad_${i}`), dtype: g!.dtype }));
  const session = new NativeSession(encodeModel(builder.finish('grads', outputs)), {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const results = session.run([...given, gout].map((t) => ({ type: t.dtype, dims: t.shape, data: t.data })));
  return results.map((r, i) => new Tensor(grads[i]!.dtype, r.dims, r.data as never));
}

/** A list output's used pieces (those with an upstream gradient; the last stays unused). */
function usedOutputs(out: Tensor | readonly Tensor[]): Tensor[] {
  if (!Array.isArray(out)) return [out as Tensor];
  return out.length > 1 ? out.slice(0, -1) : [...out];
}

describe('backward of the shape, layout and indexing ops', () => {
  it('has a fixture case for every call and a call for every case', () => {
    assert.deepEqual(cases.map((c) => c.name).sort(), Object.keys(CALLS).sort());
  });

  for (const c of cases) {
    it(`${c.name}: gives PyTorch's input gradients`, () => {
      const xs = inputsOf(c).map((x) => x.detach().requiresGrad_());
      const outs = usedOutputs(CALLS[c.name]!(...xs));
      const gradOutputs = outs.map((_, i) => c.t[`gout${i}`]!);
      const grads = grad(outs, xs, { gradOutputs });
      grads.forEach((g, i) => assertClose(g, c.t[`gx${i}`]!, {}, `${c.name} gx${i}`));
    });

    it(`${c.name}: gives PyTorch's input gradients when differentiated symbolically (one ONNX graph)`, () => {
      symbolicGradients(c).forEach((g, i) => assertClose(g, c.t[`gx${i}`]!, {}, `${c.name} gx${i}`));
    });

    it(`${c.name}: matches finite differences on float64`, () => {
      const call = CALLS[c.name]!;
      gradcheck((...xs) => joined(call(...xs)), inputsOf(c).map((x) => x.to('float64')));
    });
  }

  it('scatter_add reads only the corner of a src larger than the index, in value and gradient', () => {
    const src = randn([3, 5], { dtype: 'float64' });
    gradcheck((a, s) => F.scatterAdd(a!, 0, SCATTER_IDX, s!), [randn([3, 4], { dtype: 'float64' }), src]);
    const out = F.scatterAdd(F.newZeros(src, [3, 4]), 0, SCATTER_IDX, src);
    const corner = F.scatterAdd(F.newZeros(src, [3, 4]), 0, SCATTER_IDX, F.getitem(src, [S(0, 2), S(0, 4)]));
    assert.deepEqual(out.toArray(), corner.toArray());
  });

  it('every op of the area has a backward rule', () => {
    const ops = ['cat', 'stack', 'expand', 'repeat', 'flatten', 'getitem', 'pad', 'permute', 'transpose',
      'contiguous', 'reshape', 'view', 'roll', 'split', 'chunk', 'squeeze', 'unsqueeze', 'scatter_add'];
    const missing = ops.filter((name) => getOp(name).backward === undefined);
    assert.deepEqual(missing, []);
  });
});
