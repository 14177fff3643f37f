/**
 * Names survive featurefx's export: exportOnnx -> bytes -> decodeOnnxModel -> nameOnnxNodes gives
 * featurefx's own eval node names, for every zoo classifier up to 30M parameters (as
 * test/models/compile-parity.test.ts picks them), exported as a feature extractor's graph and as
 * the plain module (which exportOnnx traces itself, without torchvision's ops modules as leaves, so
 * its names are those of a NodePathTracer without them: `features.0.0` inside `features.0`). Nodes
 * that make no ONNX node of their own are absent: parameters (get_attr: initializers), sizes
 * computed while exporting, and nodes passing an earlier value on (eval-mode dropout, getitem of a
 * list); every other node is there, in order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodePathTracer, withDefaultLeaves } from '../../src/featureExtraction/node-path-tracer.js';
import { GraphModule, resolvePath } from '../../src/fx/graph-module.js';
import { exportOnnx } from '../../src/fx/onnx-export.js';
import { ShapeProp } from '../../src/fx/passes/shape-prop.js';
import { getModel } from '../../src/models/index.js';
import { Dropout } from '../../src/nn/layers/dropout.js';
import { Identity } from '../../src/nn/layers/linear.js';
import type { Module } from '../../src/nn/module.js';
import { skipInit } from '../../src/nn/init.js';
import { StochasticDepth } from '../../src/nn/vision-ops/stochastic-depth.js';
import { nameOnnxNodes } from '../../src/onnx/node-names.js';
import { decodeOnnxModel } from '../../src/onnx/read-model.js';
import { classifiersUpTo } from '../helpers/zoo-sizes.js';

/** Modules whose eval-mode forward returns its input: no ONNX node. */
const NO_OP_MODULES = [Dropout, Identity, StochasticDepth];

/** The names read back from `bytes` are `tracer`'s (it traced `model`), in order, with every node computing a value. */
function assertNamesReadBack(bytes: Uint8Array, tracer: NodePathTracer, model: Module): void {
  const names = nameOnnxNodes(decodeOnnxModel(bytes)).map((n) => n.name);
  const found = new Set(names);
  assert.deepEqual(
    names,
    tracer.nodeNames().filter((n) => found.has(n)),
    'the same names, in the same order, and no others',
  );
  for (const [node, qualname] of tracer.nodeToQualname) {
    const isTensor = typeof node.meta.tensorMeta === 'object' && !Array.isArray(node.meta.tensorMeta);
    if (node.op === 'placeholder') assert.ok(found.has(qualname), qualname);
    if (node.op !== 'call_module' || !isTensor) continue;
    const module = resolvePath(model, node.target as string) as Module;
    if (!NO_OP_MODULES.some((cls) => module instanceof cls)) assert.ok(found.has(qualname), qualname);
  }
}

for (const name of classifiersUpTo(30e6)) {
  test(`${name}: exported, read back and named, its nodes have featurefx's own names`, () => {
    // Names need no weights, so none are drawn.
    const model = skipInit(() => getModel(name)).eval();
    const size = name === 'inception_v3' ? 80 : 64;
    const options = { inputShape: [1, 3, size, size], dynamicBatch: false };

    const tracer = new NodePathTracer(withDefaultLeaves());
    const gm = new GraphModule(model, tracer.trace(model), { constants: tracer.tensorConstants });
    assertNamesReadBack(exportOnnx(gm, options), tracer, model);

    // exportOnnx traces the plain module again; this twin of its graph gets shapes for the checks.
    const plainTracer = new NodePathTracer();
    new ShapeProp(model, plainTracer.trace(model)).propagate({ dtype: 'float32', shape: options.inputShape });
    assertNamesReadBack(exportOnnx(model, options), plainTracer, model);
  });
}
