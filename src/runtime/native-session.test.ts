import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const index = fileURLToPath(new URL('../index.ts', import.meta.url));
const session = fileURLToPath(new URL('./native-session.ts', import.meta.url));
const lowering = fileURLToPath(new URL('../ops/lowering.ts', import.meta.url));
const model = fileURLToPath(new URL('./onnx-model.ts', import.meta.url));

test('ONNX Runtime prints nothing unasked: a train-mode compile and a model with an unused initializer', () => {
  // Before, ORT warned once per unused initializer ("Removing initializer ... It is not used"):
  // each BatchNorm statistic of a train-mode graph, each unused constant.
  const script = `
    import { compile, resnet18, randn, skipInit } from ${JSON.stringify(index)};
    import { NativeSession } from ${JSON.stringify(session)};
    import { GraphBuilder } from ${JSON.stringify(lowering)};
    import { encodeModel } from ${JSON.stringify(model)};
    compile(skipInit(() => resnet18()), { mode: 'train' }).call(randn([2, 3, 32, 32]));
    const b = new GraphBuilder();
    const x = b.addInput('x', 'float32', ['n']);
    b.constant([1, 2, 3], 'float32');
    const graph = b.finish('unused', [{ name: b.emit('Relu', [x]), dtype: 'float32' }]);
    new NativeSession(encodeModel(graph), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
    console.log('ran');
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(run.stdout.trim(), 'ran', run.stderr);
  assert.doesNotMatch(run.stderr, /Removing initializer/);
  assert.equal(run.stderr, '');
});
