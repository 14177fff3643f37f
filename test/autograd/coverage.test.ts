import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AutogradError } from '../../src/errors.js';
import '../../src/index.js';
import { expectTensor } from '../../src/ops/helpers/checks.js';
import { defineOp, getOp, listOps } from '../../src/ops/registry.js';
import { randn } from '../../src/tensor/creation.js';
import type { TensorMeta } from '../../src/tensor/tensor.js';

/** Ops whose results are indices, booleans or sizes: never floating point, so never differentiated. */
const NOT_FLOATING = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'argmax', 'size', 'getattr'];

it('every registered op has a backward rule, is marked not differentiable, or gives no floating-point result', () => {
  const missing = listOps().filter(
    (name) =>
      getOp(name).backward === undefined && getOp(name).differentiable !== false && !NOT_FLOATING.includes(name),
  );
  assert.deepEqual(missing, []);
  const x = randn([2, 3], { requiresGrad: true });
  for (const name of ['eq', 'gt', 'argmax']) {
    const out = getOp(name)(x, name === 'argmax' ? 1 : 0) as { requiresGrad: boolean };
    assert.equal(out.requiresGrad, false, `${name}'s result does not require grad`);
  }
});

it('backward through an op without a rule raises, naming the op', () => {
  const noRule = defineOp({
    name: 'test_op_without_rule',
    infer: (x: TensorMeta): TensorMeta => expectTensor('test_op_without_rule', 'input', x),
    lower: (ctx, x) => ctx.emit('Identity', [x]),
  });
  const y = noRule(randn([2], { requiresGrad: true })).sum();
  assert.throws(
    () => y.backward(),
    (e: Error) => e instanceof AutogradError && e.message.startsWith('[test_op_without_rule] is not differentiable'),
  );
});
