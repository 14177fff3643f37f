/**
 * Every op against PyTorch, as data: the cases are written by scripts/fixtures/make_ops_numeric.py
 * (`op:case` names, inputs a, b, c, ..., outputs out0, out1, ...); this table says how each op is
 * called in TypeScript.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FixtureCase, assertClose, fixtureTensor, loadFixture } from '../../test/helpers/compare-with-torch.js';
import { randn } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { F } from './index.js';
import { type IndexItem, slice } from './getitem.js';

/** The parameters the fixture cases carry; `never` lets each call pass them where it needs. */
type Params = Record<
  | 'scalar'
  | 'dim'
  | 'keepdim'
  | 'momentum'
  | 'normalizedShape'
  | 'numGroups'
  | 'outputSize'
  | 'value'
  | 'startDim'
  | 'endDim'
  | 'shape'
  | 'dims'
  | 'dim0'
  | 'dim1'
  | 'sizes'
  | 'repeats'
  | 'chunks'
  | 'split'
  | 'index'
  | 'shifts'
  | 'pad'
  | 'dtype'
  | 'kernelSize'
  | 'approximate'
  | 'roundingMode'
  | 'training'
  | 'mode'
  | 'min'
  | 'max'
  | 'p',
  never
>;

type Call = (t: (name: string) => Tensor, p: Params, c: FixtureCase) => Tensor | readonly Tensor[];

const unary =
  (fn: (x: Tensor) => Tensor): Call =>
  (t) =>
    fn(t('a'));
const binary =
  (fn: (a: Tensor, b: Tensor | number) => Tensor): Call =>
  (t, p, c) =>
    fn(t('a'), 'scalar' in c.params ? p.scalar : fixtureTensor(c, 'b'));

/** Decodes the JSON form of an index (slices as {slice: [start, stop, step]}, 'tensor' for input b). */
function decodeIndex(items: unknown[], t: (name: string) => Tensor): IndexItem<Tensor>[] {
  return items.map((item) => {
    if (item === 'tensor') return t('b');
    if (typeof item === 'object' && item !== null && 'slice' in item) {
      const [start, stop, step] = (item as { slice: (number | null)[] }).slice;
      return slice(start ?? null, stop ?? null, step ?? null);
    }
    return item as IndexItem<Tensor>;
  });
}

const CALLS: Record<string, Call> = {
  relu: unary(F.relu),
  relu6: unary(F.relu6),
  hardswish: unary(F.hardswish),
  hardsigmoid: unary(F.hardsigmoid),
  silu: unary(F.silu),
  sigmoid: unary((x) => x.sigmoid()),
  tanh: unary(F.tanh),
  exp: unary((x) => x.exp()),
  neg: unary(F.neg),
  abs: unary(F.abs),
  erf: unary(F.erf),
  sqrt: unary(F.sqrt),
  log: unary(F.log),
  gelu: (t, p) => F.gelu(t('a'), p),
  add: binary(F.add),
  sub: binary(F.sub),
  mul: binary((a, b) => a.mul(b)),
  div: (t, p, c) => F.div(t('a'), 'scalar' in c.params ? p.scalar : fixtureTensor(c, 'b'), p),
  floordiv: binary(F.floordiv),
  pow: binary(F.pow),
  maximum: binary(F.maximum),
  minimum: binary(F.minimum),
  eq: binary(F.eq),
  ne: binary(F.ne),
  gt: binary(F.gt),
  ge: binary(F.ge),
  lt: binary(F.lt),
  le: binary(F.le),
  softmax: (t, p) => F.softmax(t('a'), p.dim),
  log_softmax: (t, p) => t('a').logSoftmax(p.dim),
  mean: (t, p) => F.mean(t('a'), p.dim, p.keepdim ?? false),
  sum: (t, p) => t('a').sum(p.dim, p.keepdim ?? false),
  amax: (t, p) => F.amax(t('a'), p.dim, p.keepdim ?? false),
  linear: (t, _p, c) => F.linear(t('a'), t('b'), c.t.c ?? null),
  matmul: (t) => F.matmul(t('a'), t('b')),
  bmm: (t) => t('a').bmm(t('b')),
  batch_norm: (t, p) => F.batchNorm(t('a'), t('b'), t('c'), t('d'), t('e'), p),
  batch_norm_stats: (t, p) => F.batchNormStats(t('a'), t('b'), t('c'), p.momentum),
  layer_norm: (t, p, c) => F.layerNorm(t('a'), p.normalizedShape, c.t.b ?? null, c.t.c ?? null),
  group_norm: (t, p) => F.groupNorm(t('a'), p.numGroups, t('b'), t('c')),
  max_pool2d: (t, p) => F.maxPool2d(t('a'), p),
  avg_pool2d: (t, p) => F.avgPool2d(t('a'), p),
  adaptive_avg_pool2d: (t, p) => F.adaptiveAvgPool2d(t('a'), p.outputSize),
  adaptive_max_pool2d: (t, p) => F.adaptiveMaxPool2d(t('a'), p.outputSize),
  interpolate: (t, p) => F.interpolate(t('a'), p),
  clamp: (t, p) => t('a').clamp(p),
  where: (t) => F.where(t('a'), t('b'), t('c')),
  masked_fill: (t, p) => t('a').maskedFill(t('b'), p.value),
  dropout: (t, p) => F.dropout(t('a'), p),
  flatten: (t, p) => F.flatten(t('a'), p.startDim, p.endDim ?? -1),
  reshape: (t, p) => t('a').reshape(p.shape),
  view: (t, p) => F.view(t('a'), p.shape),
  permute: (t, p) => t('a').permute(p.dims),
  transpose: (t, p) => F.transpose(t('a'), p.dim0, p.dim1),
  unsqueeze: (t, p) => t('a').unsqueeze(p.dim),
  squeeze: (t, p) => F.squeeze(t('a'), p.dim),
  expand: (t, p) => t('a').expand(p.sizes),
  repeat: (t, p) => t('a').repeat(p.repeats),
  cat: (t, p) => F.cat([t('a'), t('b')], p.dim),
  stack: (t, p) => F.stack([t('a'), t('b')], p.dim),
  chunk: (t, p) => t('a').chunk(p.chunks, p.dim),
  split: (t, p) => F.split(t('a'), p.split, p.dim),
  getitem: (t, p) => t('a').getitem(decodeIndex(p.index, t)),
  roll: (t, p) => F.roll(t('a'), p.shifts, p.dims),
  pad: (t, p) => F.pad(t('a'), p.pad, p),
  to: (t, p) => t('a').to(p.dtype),
};

for (const file of ['ops/numeric.json', 'ops/shape.json']) {
  for (const c of loadFixture(file)) {
    const op = c.name.slice(0, c.name.indexOf(':'));
    test(`${c.name} matches PyTorch`, () => {
      const call = CALLS[op];
      assert.ok(call !== undefined, `no call for op ${op}`);
      const result = call((name) => fixtureTensor(c, name), c.params as Params, c);
      const outputs = Array.isArray(result) ? result : [result];
      const expected = Object.keys(c.t).filter((k) => k.startsWith('out'));
      assert.equal(outputs.length, expected.length, 'number of outputs');
      outputs.forEach((o, i) => assertClose(o, fixtureTensor(c, `out${i}`), { rtol: 1e-4, atol: 1e-5 }, `out${i}`));
    });
  }
}

test('reshape, view, flatten, squeeze, unsqueeze and contiguous share their input data eagerly, and differentiate', () => {
  const x = randn([2, 1, 3], { requiresGrad: true });
  const views = [
    F.reshape(x, [6]),
    F.view(x, [3, 2]),
    F.flatten(x),
    F.squeeze(x, 1),
    F.unsqueeze(x, 0),
    F.contiguous(x),
  ];
  for (const v of views) assert.equal(v.data, x.data, 'the same storage, no copy');
  views.reduce((total: Tensor, v) => F.add(total, F.sum(F.mul(v, v))), F.sum(F.mul(x, 0))).backward();
  assertClose(x.grad!, F.mul(x.detach(), 12));
});
