/**
 * Grad-CAM against PyTorch (scripts/fixtures/make_gradcam.py): resnet18 with formula weights,
 * layer4, a given class and the top class, eagerly (autograd) and compiled (one ONNX Runtime
 * session with the symbolic gradient); and the errors users meet.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FeatureExtractionError } from '../../src/errors.js';
import { compileGradCam, gradCam } from '../../src/explain/grad-cam.js';
import { resnet18 } from '../../src/models/resnet.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { assertClose, loadFixture } from '../helpers/compare-with-torch.js';
import { formulaWeights } from '../helpers/formula-weights.js';

const model = resnet18().eval();
model.loadStateDict(formulaWeights(model));
const compiled = compileGradCam(model, { node: 'layer4' });
after(() => compiled.dispose());

/** The script's input: 2 sin(0.37 i + 0.1) in float64, rounded to float32. */
function formulaInput(shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(
    'float32',
    shape,
    Float32Array.from({ length: n }, (_, i) => 2 * Math.sin(i * 0.37 + 0.1)),
  );
}

const cases = loadFixture('explain/gradcam.json');

for (const c of cases) {
  const target = c.params.target as number | null;
  const x = formulaInput(c.params.shape as number[]);
  const expectedTarget = Array.from(c.t.target!.data as BigInt64Array, Number);
  const expectedScore = Array.from(c.t.score!.data as Float32Array);

  test(`gradCam (eager) equals PyTorch's map: ${c.name}`, () => {
    const r = gradCam(model, x, { node: 'layer4', ...(target === null ? {} : { target }) });
    assert.deepEqual(r.target, expectedTarget);
    assertClose(r.cam, c.t.cam!, { atol: 1e-4, rtol: 0 }, 'cam');
    const logits = r.logits.data as Float32Array;
    const classes = r.logits.shape[1]!;
    expectedScore.forEach((s, i) => assert.ok(Math.abs(logits[i * classes + expectedTarget[i]!]! - s) < 1e-4));
  });

  test(`compileGradCam equals PyTorch's map: ${c.name}`, () => {
    const r = compiled.call(x, target ?? undefined);
    assert.deepEqual(r.target, expectedTarget);
    assertClose(r.cam, c.t.cam!, { atol: 1e-4, rtol: 0 }, 'cam');
  });
}

test('the map is in [0, 1] and reaches both ends in every image', () => {
  const { cam } = compiled.call(formulaInput([2, 3, 64, 64]));
  const data = cam.data as Float32Array;
  const per = 64 * 64;
  for (let n = 0; n < 2; n++) {
    const image = data.subarray(n * per, (n + 1) * per);
    assert.ok(image.every((v) => v >= 0 && v <= 1));
    assert.equal(Math.min(...image), 0);
    assert.ok(Math.max(...image) > 0.999);
  }
});

test('a node the model does not have is a FeatureExtractionError naming the closest nodes', () => {
  const x = formulaInput([1, 3, 64, 64]);
  for (const call of [
    () => gradCam(model, x, { node: 'layer5' }),
    () => compileGradCam(model, { node: 'layer5' }).call(x),
  ]) {
    assert.throws(call, (e: unknown) => {
      assert.ok(e instanceof FeatureExtractionError, String(e));
      assert.match(e.message, /layer5/);
      assert.match(e.message, /layer4/);
      return true;
    });
  }
});

test('a target outside the classes, or a wrong count of targets, is a RangeError', () => {
  const x = formulaInput([2, 3, 64, 64]);
  assert.throws(() => gradCam(model, x, { node: 'layer4', target: 1000 }), {
    name: 'RangeError',
    message: '[gradCam] target class 1000 is out of range for 1000 classes',
  });
  assert.throws(() => compiled.call(x, -2), {
    name: 'RangeError',
    message: '[compileGradCam] target class -2 is out of range for 1000 classes',
  });
  assert.throws(() => gradCam(model, x, { node: 'layer4', target: [1, 2, 3] }), {
    name: 'RangeError',
    message: '[gradCam] target must be a class index or one per image (2), got [1,2,3]',
  });
  assert.throws(() => compiled.call(x, 1.5), {
    name: 'RangeError',
    message: '[compileGradCam] target must be a class index or one per image (2), got 1.5',
  });
});

test('an input that is not an image batch [N, C, H, W] is a TypeError', () => {
  const x = formulaInput([3, 64, 64]);
  assert.throws(() => gradCam(model, x, { node: 'layer4' }), {
    name: 'TypeError',
    message: '[gradCam] input must be an image batch [N, C, H, W], got shape [3, 64, 64]',
  });
  assert.throws(() => compiled.call(x), {
    name: 'TypeError',
    message: '[compileGradCam] input must be an image batch [N, C, H, W], got shape [3, 64, 64]',
  });
});
