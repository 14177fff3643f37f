import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { differentiate, lowerOps } from '../../src/fx/autodiff.js';
import { lowerOpen } from '../../src/fx/onnx-export.js';
import { symbolicTrace } from '../../src/fx/symbolic-trace.js';
import * as nn from '../../src/nn/index.js';
import { Module } from '../../src/nn/module.js';
import { NativeSession } from '../../src/runtime/native-session.js';
import { encodeModel } from '../../src/runtime/onnx-model.js';
import { randn } from '../../src/tensor/creation.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertClose } from '../helpers/compare-with-torch.js';

class Mlp extends Module<[Tensor], Tensor> {
  fc1 = new nn.Linear(4, 5);
  fc2 = new nn.Linear(5, 3);
  forward(x: Tensor): Tensor {
    const h = this.fc1.call(x);
    return this.fc2.call(h.mul(h));
  }
}

describe('symbolic differentiation of a lowered graph', () => {
  it('gives the gradients eager backward gives, from the same rules, in one ONNX session', () => {
    const model = new Mlp();
    const x = randn([2, 4]);
    const target = randn([2, 3]);
    const diff = model.call(x).sub(target);
    diff.mul(diff).mean().backward();

    const open = lowerOpen(symbolicTrace(model), symbolicTrace(model).graph, [x.shape], { withTape: true });
    const tape = [...open.tape];
    const targetValue = open.builder.addInput('target', 'float32', [...target.shape]);
    const [loss] = lowerOps(
      open.builder,
      [open.result as never, targetValue],
      (y, t) => {
        const d = y.sub(t);
        return [d.mul(d).mean()];
      },
      tape,
    );
    const params = model.parameters();
    const wrt = params.map((p) => open.initializers.get(p)!);
    const grads = differentiate(open.builder, tape, loss!, wrt);
    const outputs = grads.map((g, i) => ({ name: open.builder.rename(g!.name, `grad_${i}`), dtype: g!.dtype }));
    const session = new NativeSession(encodeModel(open.builder.finish('mlp_grad', outputs)), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const results = session.run([
      { type: 'float32', dims: x.shape, data: x.data },
      { type: 'float32', dims: target.shape, data: target.data },
    ]);
    params.forEach((p, i) => {
      const r = results[i]!;
      assertClose(new Tensor('float32', r.dims, r.data as Float32Array), p.grad!, { rtol: 1e-4, atol: 1e-6 }, `param ${i}`);
    });
    assert.equal(results.length, 4);
  });
});
