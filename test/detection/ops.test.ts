/**
 * The detection ops (topk, nonzero, index_select, nms, roi_align, floor, log2, logical ops) against
 * torch and torchvision (scripts/fixtures/make_detection_ops.py).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile } from '../../src/fx/compile.js';
import { exportOnnx } from '../../src/fx/onnx-export.js';
import { compileTrainingStep } from '../../src/fx/training-step.js';
import { Conv2d } from '../../src/nn/layers/conv.js';
import { Module } from '../../src/nn/module.js';
import { F } from '../../src/index.js';
import { slice } from '../../src/ops/getitem.js';
import { SGD } from '../../src/optim/sgd.js';
import { randn, tensor } from '../../src/tensor/creation.js';
import { manualSeed } from '../../src/tensor/generator.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { assertClose, fixtureTensor, loadFixture, type FixtureCase } from '../helpers/compare-with-torch.js';

const cases = loadFixture('detection/ops.json');
const ofOp = (op: string): FixtureCase[] => cases.filter((c) => c.name.startsWith(`${op}:`));

/** The gradient of sum(f(input) * gradOut) with respect to input. */
function inputGrad(input: Tensor, gradOut: Tensor, f: (x: Tensor) => Tensor): Tensor {
  const x = input.detach();
  x.requiresGrad = true;
  F.mul(f(x), gradOut).sum().backward();
  return x.grad!;
}

describe('nms', () => {
  for (const c of ofOp('nms')) {
    it(`keeps torchvision's boxes in torchvision's order (${c.name})`, () => {
      const keep = F.nms(fixtureTensor(c, 'boxes'), fixtureTensor(c, 'scores'), c.params.iouThreshold as number);
      assertClose(keep, fixtureTensor(c, 'keep'), { atol: 0, rtol: 0 });
    });
  }

  it('names the argument that is wrong', () => {
    assert.throws(() => F.nms(randn([3, 5]), randn([3]), 0.5), {
      name: 'RangeError',
      message: '[nms] boxes should have 4 elements in dimension 1, got 5',
    });
    assert.throws(() => F.nms(randn([3, 4]), randn([2]), 0.5), {
      name: 'RangeError',
      message: '[nms] boxes and scores should have same number of elements in dimension 0, got 3 and 2',
    });
    assert.throws(() => F.nms(randn([3, 4]), randn([3, 1]), 0.5), {
      name: 'RangeError',
      message: '[nms] scores should be a 1d tensor, got 2D',
    });
  });
});

describe('roi_align', () => {
  const options = (c: FixtureCase): F.RoiAlignOptions => ({
    spatialScale: c.params.spatialScale as number,
    samplingRatio: c.params.samplingRatio as number,
    aligned: c.params.aligned as boolean,
  });
  const outputSize = (c: FixtureCase): [number, number] => c.params.outputSize as [number, number];

  for (const c of ofOp('roi_align').filter((c) => c.t.rois !== undefined)) {
    it(`matches torchvision (${c.name})`, () => {
      const out = F.roiAlign(fixtureTensor(c, 'input'), fixtureTensor(c, 'rois'), outputSize(c), options(c));
      assertClose(out, fixtureTensor(c, 'out'));
      const grad = inputGrad(fixtureTensor(c, 'input'), fixtureTensor(c, 'grad_out'), (x) =>
        F.roiAlign(x, fixtureTensor(c, 'rois'), outputSize(c), options(c)),
      );
      assertClose(grad, fixtureTensor(c, 'grad_input'));
    });
  }

  it('takes a list of per-image boxes, as torchvision', () => {
    const c = cases.find((k) => k.name === 'roi_align:list');
    const boxes = [fixtureTensor(c!, 'boxes0'), fixtureTensor(c!, 'boxes1')];
    assertClose(F.roiAlign(fixtureTensor(c!, 'input'), boxes, outputSize(c!), options(c!)), fixtureTensor(c!, 'out'));
  });

  it('names what is wrong with the boxes and options', () => {
    assert.throws(() => F.roiAlign(randn([1, 2, 4, 4]), randn([3, 4]), 2), {
      name: 'RangeError',
      message:
        '[roi_align] the boxes tensor shape is not correct as Tensor[K, 5], got [3, 4]; ' +
        'give rows (batch index, x1, y1, x2, y2) or a list of per-image [L, 4] tensors',
    });
    assert.throws(() => F.roiAlign(randn([1, 2, 4, 4]), [randn([3, 5])], 2), {
      name: 'RangeError',
      message:
        '[roi_align] the shape of the tensor in the boxes list is not correct as List[Tensor[L, 4]], got [3, 5] at boxes[0]',
    });
    assert.throws(
      () =>
        F.roiAlign(
          randn([2, 2, 4, 4]),
          tensor([
            [0, 0, 0, 1, 1],
            [2, 0, 0, 1, 1],
          ]),
          2,
        ),
      {
        name: 'RangeError',
        message:
          '[roi_align] box 1 has batch index 2, but input has a batch of 2; ' +
          'the first column of boxes must be an image index in [0, 2)',
      },
    );
    assert.throws(() => F.roiAlign(randn([1, 2, 4, 4]), [randn([1, 4]), randn([1, 4])], 2), {
      name: 'RangeError',
      message: '[roi_align] boxes is a list of 2 per-image tensors, but input has a batch of 1',
    });
    assert.throws(() => F.roiAlign(randn([1, 2, 4, 4]), randn([1, 5]), 2, { samplingRatio: -2 }), {
      name: 'RangeError',
      message: '[roi_align] samplingRatio must be an integer >= -1, got -2',
    });
  });
});

describe('topk, index_select and index_put', () => {
  for (const c of ofOp('topk')) {
    it(`give torch's values, indices and gradient (${c.name})`, () => {
      const { k, ...rest } = c.params as { k: number; dim?: number; largest?: boolean };
      const [values, indices] = F.topk(fixtureTensor(c, 'input'), k, rest);
      assertClose(values, fixtureTensor(c, 'values'));
      assertClose(indices, fixtureTensor(c, 'indices'), { atol: 0, rtol: 0 });
      const grad = inputGrad(fixtureTensor(c, 'input'), fixtureTensor(c, 'grad_out'), (x) => F.topk(x, k, rest)[0]);
      assertClose(grad, fixtureTensor(c, 'grad_input'));
    });
  }

  for (const c of ofOp('index_select')) {
    it(`give torch's values, indices and gradient (${c.name})`, () => {
      const dim = c.params.dim as number;
      const index = fixtureTensor(c, 'index');
      assertClose(F.indexSelect(fixtureTensor(c, 'input'), dim, index), fixtureTensor(c, 'out'));
      const grad = inputGrad(fixtureTensor(c, 'input'), fixtureTensor(c, 'grad_out'), (x) => x.indexSelect(dim, index));
      assertClose(grad, fixtureTensor(c, 'grad_input'));
    });
  }

  for (const c of ofOp('index_put')) {
    it(`index_put gives torch's result and gradients (${c.name})`, () => {
      const indices = Object.keys(c.t)
        .filter((name) => name.startsWith('index'))
        .map((name) => fixtureTensor(c, name));
      const accumulate = c.params.accumulate as boolean;
      const input = fixtureTensor(c, 'input').detach();
      const values = fixtureTensor(c, 'values').detach();
      input.requiresGrad = true;
      values.requiresGrad = true;
      const out = F.indexPut(input, indices, values, accumulate);
      assertClose(out, fixtureTensor(c, 'out'));
      F.mul(out, fixtureTensor(c, 'grad_out')).sum().backward();
      assertClose(input.grad, fixtureTensor(c, 'grad_input'));
      assertClose(values.grad, fixtureTensor(c, 'grad_values'));
    });
  }

  it('raise torch errors for k and indices out of range', () => {
    assert.throws(() => F.topk(randn([2, 3]), 4), {
      name: 'RangeError',
      message: '[topk] selected index k out of range: k is 4 but dimension 1 has size 3; k must be between 0 and 3',
    });
    assert.throws(() => F.indexSelect(randn([2, 3]), 0, tensor([0n, 2n], { dtype: 'int64' })), {
      name: 'RangeError',
      message:
        '[index_select] index out of range in self: index 2 for dimension 0 of size 2; indices must be in [0, 2)',
    });
    assert.throws(() => F.indexSelect(randn([2, 3]), 0, tensor([[0n]], { dtype: 'int64' })), {
      name: 'RangeError',
      message: '[index_select] index is supposed to be a vector, got shape [1, 1]; flatten it first',
    });
    assert.throws(() => F.indexPut(randn([2, 3]), [tensor([0n, 1n], { dtype: 'int64' })], randn([3, 3])), {
      name: 'RangeError',
      message:
        '[index_put] shape mismatch: value tensor of shape [3, 3] cannot be broadcast to indexing result of shape [2, 3]',
    });
  });
});

describe('nonzero, rounding, log2 and the logical ops', () => {
  it('nonzero gives the positions of non-zero elements, one row each, in row-major order', () => {
    const positions = F.nonzero(
      tensor([
        [0, 1.5],
        [-2, 0],
        [0, 0],
      ]),
    );
    assert.deepEqual([...positions.shape], [2, 2]);
    assert.deepEqual([...positions.data], [0n, 1n, 1n, 0n]);
    assert.deepEqual([...F.nonzero(tensor([false, false])).shape], [0, 1]);
    assert.throws(() => F.nonzero(tensor(1)), {
      name: 'RangeError',
      message: '[nonzero] input must have at least one dim, got a 0-D tensor; use x.reshape([1])',
    });
  });

  it('floor, ceil and round have a zero gradient; log2 is exact at powers of two', () => {
    const x = tensor([1.5, -0.5, 2]);
    assert.deepEqual([...F.floor(x).data], [1, -1, 2]);
    assert.deepEqual([...inputGrad(x, tensor([1, 1, 1]), (t) => t.floor()).data], [0, 0, 0]);
    assert.deepEqual([...F.ceil(x).data], [2, -0, 2]);
    // Halves to even, as torch.round.
    assert.deepEqual([...F.round(tensor([0.5, 1.5, -2.5, 2.4])).data], [0, 2, -2, 2]);
    assert.deepEqual([...inputGrad(x, tensor([1, 1, 1]), (t) => t.round().add(t.ceil())).data], [0, 0, 0]);
    const powers = tensor([1 / 1024, 0.125, 1, 8, 1024, 2 ** 20]);
    assert.deepEqual([...F.log2(powers).data], [-10, -3, 0, 3, 10, 20]);
    assertClose(inputGrad(tensor([2, 4]), tensor([1, 1]), F.log2), tensor([1 / (2 * Math.LN2), 1 / (4 * Math.LN2)]));
  });

  it('logical ops read non-zero as true, broadcast, and give bool', () => {
    const a = tensor([true, true, false, false]);
    const b = tensor([true, false, true, false]);
    assert.deepEqual([...F.logicalAnd(a, b).data], [1, 0, 0, 0]);
    assert.deepEqual([...F.logicalOr(a, b).data], [1, 1, 1, 0]);
    assert.deepEqual([...a.logicalNot().data], [0, 0, 1, 1]);
    const mixed = F.logicalAnd(tensor([[2], [0]]), tensor([1, 1, 0]));
    assert.equal(mixed.dtype, 'bool');
    assert.deepEqual([...mixed.data], [1, 1, 0, 0, 0, 0]);
  });
});

describe('boolean mask indexing (torch x[mask])', () => {
  it('selects the rows where the mask holds, with a gradient into them', () => {
    const boxes = tensor([
      [0, 0, 1, 1],
      [1, 1, 2, 2],
      [2, 2, 3, 3],
    ]);
    const keep = tensor([true, false, true]);
    const kept = boxes.getitem(keep);
    assert.deepEqual([...kept.shape], [2, 4]);
    assert.deepEqual([...kept.data], [0, 0, 1, 1, 2, 2, 3, 3]);
    assert.deepEqual([...boxes.getitem([slice(), tensor([false, true, false, true])]).data], [0, 1, 1, 2, 2, 3]);
    assert.deepEqual([...boxes.getitem(tensor([false, false, false])).shape], [0, 4]);
    const grad = inputGrad(
      boxes,
      tensor([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ]),
      (x) => x.getitem(keep),
    );
    assert.deepEqual([...grad.data], [1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8]);
  });

  it("raises torch's error for a mask of the wrong length", () => {
    assert.throws(() => randn([4, 2]).getitem(tensor([true, false, true])), {
      name: 'RangeError',
      message:
        '[getitem] the shape of the mask [3] at index 0 does not match the shape of the indexed tensor [4, 2]; ' +
        'a mask is 1-D, one value per element of its dim',
    });
  });
});

class Pool extends Module {
  declare rois: Tensor;

  constructor(rois: Tensor) {
    super();
    this.registerBuffer('rois', rois);
  }

  override forward(x: Tensor): Tensor {
    const pooled = F.roiAlign(x, this.rois, 2, { spatialScale: 0.5, samplingRatio: 2 });
    return F.topk(pooled.flatten(1), 3)[0];
  }
}

it('roi_align and topk trace, compile and export like other ops', () => {
  const model = new Pool(
    tensor([
      [0, 1, 1, 9, 7],
      [1, 3, 0, 6, 6],
    ]),
  ).eval();
  const x = randn([2, 3, 6, 6]);
  const compiled = compile(model);
  assertClose(compiled.call(x), model.call(x) as Tensor);
  assert.ok(exportOnnx(model, { inputShape: [2, 3, 6, 6] }).length > 0);
});

class PooledConv extends Module<[Tensor], Tensor> {
  declare rois: Tensor;
  conv = new Conv2d(3, 4, 3, { padding: 1 });

  constructor() {
    super();
    this.registerBuffer(
      'rois',
      tensor([
        [0, 1, 1, 9, 7],
        [1, 3, 0, 6, 6],
        [0, 2, 2, 3, 3],
      ]),
    );
  }

  override forward(x: Tensor): Tensor {
    return F.roiAlign(this.conv.call(x), this.rois, 2, { spatialScale: 0.5, samplingRatio: 2 }).flatten(1);
  }
}

it("roi_align's gradient rule also runs in a compiled training step, as eagerly", () => {
  const loss = (out: Tensor, target: Tensor): Tensor => F.mseLoss(out, target);
  const [x, target] = [randn([2, 3, 6, 6]), randn([3, 16])];
  manualSeed(0);
  const compiled = new PooledConv();
  manualSeed(0);
  const eager = new PooledConv();
  compileTrainingStep(compiled, { loss, optimizer: new SGD(compiled.parameters(), { lr: 0.1 }) }).call(x, target);
  loss(eager.call(x), target).backward();
  new SGD(eager.parameters(), { lr: 0.1 }).step();
  assertClose(compiled.conv.weight, eager.conv.weight);
  manualSeed(0);
  const initial = new PooledConv().conv.weight;
  assert.ok(
    compiled.conv.weight.data.some((v, i) => v !== initial.data[i]),
    'the step changed the weights',
  );
});
