import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grad } from '../../src/autograd/engine.js';
import { enableGrad } from '../../src/autograd/grad-mode.js';
import { adaptiveAvgPool2d, adaptiveMaxPool2d } from '../../src/ops/adaptive-avg-pool2d.js';
import { adaptiveMaxPool2dWithIndices } from '../../src/ops/adaptive-max-pool2d-with-indices.js';
import { avgPool2d } from '../../src/ops/avg-pool2d.js';
import { gather } from '../../src/ops/gather.js';
import { interpolate } from '../../src/ops/interpolate.js';
import { maxPool2d } from '../../src/ops/max-pool2d.js';
import { maxPool2dWithIndices } from '../../src/ops/max-pool2d-with-indices.js';
import type { AnyOp } from '../../src/ops/op.js';
import { scatterAdd } from '../../src/ops/scatter-add.js';
import { randn, tensor } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/generator.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose, fixtureTensor, loadFixture } from '../helpers/compare-with-torch.js';
import { gradcheck } from '../helpers/gradcheck.js';

type Call = (x: Tensor, options: never) => Tensor | Tensor[];
const OPS: Record<string, Call> = {
  max_pool2d: maxPool2d as unknown as Call,
  avg_pool2d: avgPool2d as unknown as Call,
  adaptive_avg_pool2d: adaptiveAvgPool2d as unknown as Call,
  adaptive_max_pool2d: adaptiveMaxPool2d as unknown as Call,
  interpolate: interpolate as unknown as Call,
};
const WITH_INDICES: Record<string, Call> = {
  max_pool2d: maxPool2dWithIndices as unknown as Call,
  adaptive_max_pool2d: adaptiveMaxPool2dWithIndices as unknown as Call,
};

/**
 * An input whose values are all distinct and at least 1/n apart (no ties for max pools, and a
 * finite-difference step cannot reorder them), in a fixed shuffled order.
 */
function distinct(shape: number[], dtype: 'float32' | 'float64'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, i) => ((i * 7 + 3) % n) / n);
  if (n % 7 === 0) throw new Error('pick a size not divisible by 7 for a permutation');
  return tensor(values, { dtype }).reshape(shape);
}

describe('pooling and interpolation gradients', () => {
  for (const c of loadFixture('grads/pooling.json')) {
    it(`match PyTorch: ${c.name}`, () => {
      const op = c.params.op as string;
      const options = c.params.options as never;
      const x = fixtureTensor(c, 'input').requiresGrad_();
      const out = OPS[op]!(x, options) as Tensor;
      assertClose(out, fixtureTensor(c, 'out'), {}, 'forward');
      const [dx] = grad(out, [x], { gradOutputs: fixtureTensor(c, 'gout') });
      assertClose(dx, fixtureTensor(c, 'grad'), { atol: 1e-5, rtol: 1e-4 }, 'input gradient');
      const withIndices = WITH_INDICES[op];
      if (withIndices !== undefined) {
        const [values, indices] = withIndices(x, options) as Tensor[];
        assertClose(values, fixtureTensor(c, 'out'), {}, 'values');
        assertClose(indices, fixtureTensor(c, 'indices'), { atol: 0, rtol: 0 }, 'indices');
        const [dxIndexed] = grad(values!, [x], { gradOutputs: fixtureTensor(c, 'gout') });
        assertClose(dxIndexed, fixtureTensor(c, 'grad'), { atol: 1e-5, rtol: 1e-4 }, 'gradient through indices op');
      }
    });
  }

  it('has a backward rule for every op of the area', () => {
    for (const op of [
      maxPool2d,
      maxPool2dWithIndices,
      adaptiveMaxPool2d,
      adaptiveMaxPool2dWithIndices,
      avgPool2d,
      adaptiveAvgPool2d,
      interpolate,
      scatterAdd,
      gather,
    ] as unknown as AnyOp[]) {
      assert.equal(typeof op.backward, 'function', `${op.name} has no backward`);
    }
  });

  // ONNX Runtime has float64 MaxPool, ReduceMax, ArgMax, ScatterElements and MatMul kernels, but
  // no float64 AveragePool or Resize: those are checked in float32 with a larger step.
  it('max pools pass gradcheck (float64, overlapping windows, padding, dilation)', () => {
    const x = distinct([1, 2, 5, 5], 'float64');
    gradcheck((t) => maxPool2d(t, { kernelSize: 3, stride: 2, padding: 1 }), [x]);
    gradcheck((t) => maxPool2d(t, { kernelSize: 2, stride: 1, dilation: 2, ceilMode: true }), [x]);
    gradcheck((t) => adaptiveMaxPool2d(t, [3, 2]), [x]);
    gradcheck((t) => maxPool2dWithIndices(t, { kernelSize: 3, stride: 2 })[0]!, [x]);
  });

  it('average pools and interpolation pass gradcheck', () => {
    const x32 = randn([1, 1, 5, 4], { generator: new Generator(3) });
    gradcheck((t) => avgPool2d(t, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }), [x32]);
    gradcheck((t) => avgPool2d(t, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false }), [x32]);
    gradcheck((t) => interpolate(t, { size: [7, 3], mode: 'bilinear' }), [x32]);
    gradcheck((t) => interpolate(t, { scaleFactor: 2, mode: 'bilinear', alignCorners: true }), [x32]);
    gradcheck((t) => interpolate(t, { size: [3, 6] }), [x32]);
    gradcheck((t) => adaptiveAvgPool2d(t, [3, 3]), [randn([1, 2, 5, 4], { dtype: 'float64' })]);
  });

  it('gathers along a dim and refuses an index of another rank, as torch.gather', () => {
    const x = tensor([[1, 2], [3, 4]]);
    assert.deepEqual(gather(x, 1, tensor([[1], [0]], { dtype: 'int64' })).toArray(), [[2], [3]]);
    assert.throws(
      () => gather(x, 1, tensor([1, 0], { dtype: 'int64' })),
      (e: Error) =>
        e instanceof RangeError && /\[gather\] index of shape \[2\] must have the rank of input/.test(e.message),
    );
  });

  it('gives second derivatives of max pools through scatter_add and gather', () => {
    const x = distinct([1, 1, 4, 5], 'float64');
    // d/dx of (the gradient max_pool2d gives x for an upstream gradient g), in g: gradcheck on g.
    // gradcheck evaluates without grad mode; the inner backward needs it.
    const inputGrad = (g: Tensor): Tensor =>
      enableGrad(() => {
        const leaf = x.detach().requiresGrad_();
        const out = maxPool2d(leaf, { kernelSize: 2, stride: 1 });
        return grad(out, [leaf], { gradOutputs: g, createGraph: true })[0]!;
      });
    gradcheck(inputGrad, [randn([1, 1, 3, 4], { dtype: 'float64' })]);
  });
});
