/**
 * Checks of backward rules: against finite differences (`gradcheck`, as torch.autograd.gradcheck)
 * and against gradients PyTorch computed for the same inputs (`assertGradsMatch`).
 */
import assert from 'node:assert/strict';
import { grad } from '../../src/autograd/engine.js';
import { noGrad } from '../../src/autograd/grad-mode.js';
import { randn } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/generator.js';
import { Tensor } from '../../src/tensor/tensor.js';
import '../../src/ops/tensor-methods.js';
import { type Tolerance, assertClose } from './compare-with-torch.js';

export interface GradcheckOptions {
  /** Step of the central difference (default 1e-6 for float64, 1e-2 for float32). */
  eps?: number;
  atol?: number;
  rtol?: number;
}

function copyWith(t: Tensor, index: number, delta: number): Tensor {
  const data = (t.data as Float64Array).slice();
  data[index] = data[index]! + delta;
  return new Tensor(t.dtype, t.shape, data);
}

/**
 * Compares the gradient autograd gives for each input with central differences of
 * sum(fn(inputs) * w), for a random w. `fn` must be deterministic. Inputs are float64 where the
 * op has float64 kernels, else float32 with a larger step and tolerance.
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  options: GradcheckOptions = {},
): void {
  const dtype = inputs[0]!.dtype;
  const eps = options.eps ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const atol = options.atol ?? (dtype === 'float64' ? 1e-5 : 2e-2);
  const rtol = options.rtol ?? (dtype === 'float64' ? 1e-3 : 2e-2);
  const leaves = inputs.map((t) => new Tensor(t.dtype, t.shape, t.data).requiresGrad_());
  const out = fn(...leaves);
  const w = randn([...out.shape], { dtype: dtype as 'float32' | 'float64', generator: new Generator(7) });
  const analytic = grad(out.mul(w).sum(), leaves, { allowUnused: true });
  const objective = (xs: Tensor[]): number =>
    noGrad(() =>
      fn(...xs)
        .mul(w)
        .sum()
        .item(),
    );
  inputs.forEach((input, k) => {
    for (let i = 0; i < input.numel(); i++) {
      const plus = inputs.map((t, j) => (j === k ? copyWith(t, i, eps) : t));
      const minus = inputs.map((t, j) => (j === k ? copyWith(t, i, -eps) : t));
      const numeric = (objective(plus) - objective(minus)) / (2 * eps);
      const got = analytic[k] === null ? 0 : Number(analytic[k]!.data[i]);
      assert.ok(
        Math.abs(got - numeric) <= atol + rtol * Math.abs(numeric),
        `input ${k} element ${i}: autograd gives ${got}, finite differences ${numeric}`,
      );
    }
  });
}

/** Asserts that autograd's gradients of `inputs` equal PyTorch's (`expected`, in input order). */
export function assertGradsMatch(
  actual: readonly (Tensor | null)[],
  expected: readonly (Tensor | undefined)[],
  tol: Tolerance = {},
  label = '',
): void {
  expected.forEach((e, i) => {
    if (e === undefined) return;
    assertClose(actual[i], e, tol, `${label} grad of input ${i}`);
  });
}
