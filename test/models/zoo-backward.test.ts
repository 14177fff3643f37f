/**
 * torchvision's test_forward_backward and test_jit_forward_backward for the zoo: an extractor of
 * randomly chosen (seeded) train-mode nodes, its outputs weighted by fixed random numbers, summed
 * and backpropagated, gives every parameter it keeps a finite gradient and every other parameter
 * none (eager, batch norm on batch statistics); then, with batch norm on its running statistics,
 * the same sum differentiated symbolically in one ONNX graph gives eager's gradients within 1e-4
 * of their norm, atol 1e-6 of the largest norm (compiled). Batch 2, so that train-mode batch norm
 * has two values per channel at 1x1; dropout and stochastic depth have p = 0 (both runs would
 * draw different masks otherwise).
 *
 * `npm test` runs the small models below; FEATUREFX_ZOO_BACKWARD=all runs every registered model
 * (about 15 minutes one process per model; several GB for the largest).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { getGraphNodeNames } from '../../src/featureExtraction/get-graph-node-names.js';
import { differentiate, lowerOps } from '../../src/fx/autodiff.js';
import { lowerOpen } from '../../src/fx/onnx-export.js';
import type { Value } from '../../src/ops/lowering.js';
import { getModel, listModels } from '../../src/models/index.js';
import { skipInit } from '../../src/nn/init.js';
import { BatchNorm2d } from '../../src/nn/layers/batch-norm.js';
import { NativeSession } from '../../src/runtime/native-session.js';
import { encodeModel } from '../../src/runtime/onnx-model.js';
import { randn } from '../../src/tensor/creation.js';
import { Generator } from '../../src/tensor/generator.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { formulaWeights } from '../helpers/formula-weights.js';
import { withoutRandomDrops } from '../helpers/no-random-drops.js';

const UNIT_SUBSET = [
  'resnet18',
  'squeezenet1_1',
  'mobilenet_v3_small',
  'mnasnet0_5',
  'shufflenet_v2_x0_5',
  'regnet_x_400mf',
  'efficientnet_b0',
  'googlenet',
];
const MODELS = process.env.FEATUREFX_ZOO_BACKWARD === 'all' ? listModels({ task: 'classification' }) : UNIT_SUBSET;
// The smallest square input each model takes (default 32): alexnet's last max pool needs a 3x3
// map, inception_v3 its 75x75; maxvit_t takes its inputSize only.
const INPUT_SIZE: Record<string, number> = { alexnet: 64, inception_v3: 75, maxvit_t: 224 };
const NODES = 5;
// torchvision's _get_return_nodes leaves out nodes that are not feature maps; placeholders carry
// no gradient, and the auxiliary classifiers' functional dropout is random in train mode.
const EXCLUDED = ['getitem', 'floordiv', 'size', 'chunk', '_assert', 'eq', 'dim', 'getattr', 'aux', 'Aux'];

function chooseNodes(nodes: readonly string[], seed: number): string[] {
  const candidates = nodes.slice(1).filter((n) => !EXCLUDED.some((e) => n.includes(e)));
  const g = new Generator(seed);
  const chosen = new Set<string>();
  while (chosen.size < Math.min(NODES, candidates.length)) {
    chosen.add(candidates[Math.floor(g.uniform() * candidates.length)]!);
  }
  return [...chosen];
}

function maxAbs(a: Float32Array, b?: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - (b?.[i] ?? 0)));
  return m;
}

function norm(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}

MODELS.forEach((name, index) => {
  test(`${name}: train-mode extractor of random nodes backpropagates eagerly and compiled, alike`, () => {
    const model = withoutRandomDrops(skipInit(() => getModel(name))).train();
    const [trainNodes, evalNodes] = getGraphNodeNames(model, { suppressDiffWarning: true });
    // Nodes of both modes: the extractor then holds only what the train-mode graph uses.
    const nodes = chooseNodes(
      trainNodes.filter((n) => evalNodes.includes(n)),
      1000 + index,
    );
    const extractor = createFeatureExtractor(model, { returnNodes: nodes });
    extractor.train();
    // Only the kept tensors get weights: the largest models' skipped ones stay untouched.
    extractor.loadStateDict(formulaWeights(extractor));
    const size = INPUT_SIZE[name] ?? 32;
    const x = randn([2, 3, size, size], { generator: new Generator(index) });

    const weights = new Map<string, Tensor>();
    // Each output weighted by fixed random numbers: the plain mean of a batch norm's train-mode
    // output does not depend on its input, so its gradient would be rounding noise.
    const score = (features: readonly Tensor[]): Tensor =>
      features
        .map((f, i) => {
          if (!weights.has(nodes[i]!)) weights.set(nodes[i]!, randn(f.shape, { generator: new Generator(i) }));
          return f.mul(weights.get(nodes[i]!)!).mean();
        })
        .reduce((a, b) => a.add(b));
    const backward = (): void => {
      extractor.zeroGrad();
      const out = extractor.call(x) as Record<string, Tensor>;
      score(nodes.map((n) => out[n]!)).backward();
    };

    backward();
    const kept = new Set(extractor.parameters());
    for (const [key, p] of model.namedParameters()) {
      if (!kept.has(p)) {
        assert.equal(p.grad, null, `${key} is outside the kept graph (nodes ${nodes.join(', ')})`);
        continue;
      }
      assert.ok(p.grad !== null, `${key} has a gradient (nodes ${nodes.join(', ')})`);
      assert.ok(Number.isFinite(maxAbs(p.grad.data as Float32Array)), `${key}'s gradient is finite`);
    }

    // Eager against compiled with batch norm on its running statistics: with batch statistics of
    // two 1x1 maps the gradients grow by orders of magnitude and float32 rounding decides their
    // digits, differently in the two runs (up to 10x at regnet_x_400mf's last blocks).
    for (const m of extractor.modules()) if (m instanceof BatchNorm2d) m.eval();
    backward();
    const open = lowerOpen(extractor, extractor.graph, [x.shape], { withTape: true });
    const tape = [...open.tape];
    const result = open.result as Record<string, Value>;
    const [total] = lowerOps(
      open.builder,
      nodes.map((n) => result[n]!),
      (...features) => [score(features)],
      tape,
    );
    const params = [...kept];
    const grads = differentiate(open.builder, tape, total!, params.map((p) => open.initializers.get(p)!));
    const outputs = grads.map((g, i) => ({ name: open.builder.rename(g!.name, `grad_${i}`), dtype: g!.dtype }));
    const session = new NativeSession(encodeModel(open.builder.finish('zoo_backward', outputs)), {
      intraOpNumThreads: 2,
      // As written, op for op like eager: fusing batch norm into convolutions rounds differently,
      // and near ReLU's kink a rounding flips whole gradient elements (1e-3 of the norm seen).
      graphOptimizationLevel: 'disabled',
    });
    const compiled = session.run([{ type: 'float32', dims: x.shape, data: x.data }]);
    session.dispose();
    const keys = new Map([...extractor.namedParameters()].map(([k, p]) => [p, k]));
    // A gradient near zero is rounding of the others: atol is 1e-6 of the largest gradient norm.
    const atol = 1e-6 * Math.max(...params.map((p) => norm(p.grad!.data as Float32Array)));
    params.forEach((p, i) => {
      const eager = p.grad!.data as Float32Array;
      const symbolic = compiled[i]!.data as Float32Array;
      const diff = maxAbs(symbolic, eager);
      assert.ok(
        diff <= 1e-4 * norm(eager) + atol,
        `${keys.get(p)}: compiled and eager differ by ${diff} (eager's norm ${norm(eager)}; nodes ${nodes.join(', ')})`,
      );
    });
  });
});
