/**
 * The built command, run as a subprocess on small images (`npm test` builds first): extraction,
 * skipped files, resume after a kill, shards and merge, and the errors users meet.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadNpy } from '../../src/io/npy.js';
import { saveSafetensors } from '../../src/io/safetensors.js';
import { loadImage } from '../../src/cli/images.js';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { getModel } from '../../src/models/index.js';
import { classifierEntry } from '../../src/cli/model-setup.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { MAIN, imageFolder, readManifest as manifest, run } from './cli-helpers.js';

test('extract writes one array per key and a manifest; a non-image is skipped and listed', async () => {
  const dir = await imageFolder(3);
  writeFileSync(join(dir, 'images', 'notes.png'), 'not an image');
  const r = run(
    ['extract', 'resnet18', '--nodes', 'layer1=early,layer2', '--batch', '2', '--out', 'out', 'images'],
    dir,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /random weights/);
  assert.match(r.stderr, /skipping .*notes\.png/);
  const m = manifest(join(dir, 'out'));
  assert.equal(m.rows.length, 3);
  assert.deepEqual(
    m.skipped.map((s) => s.path.endsWith('notes.png')),
    [true],
  );
  assert.deepEqual([...loadNpy(join(dir, 'out', 'early.npy')).shape], [3, 64, 56, 56]);
  assert.deepEqual([...loadNpy(join(dir, 'out', 'layer2.npy')).shape], [3, 128, 28, 28]);
});

test('a killed run resumes without redoing or duplicating images, and leaves no partial output', async () => {
  const dir = await imageFolder(10);
  const args = ['extract', 'resnet18', '--nodes', 'layer1', '--batch', '1', '--out', 'out', 'images'];
  const child: ChildProcess = spawn(process.execPath, [MAIN, ...args], { cwd: dir, stdio: 'ignore' });
  const out = join(dir, 'out');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !(existsSync(join(out, 'manifest.json')) && manifest(out).parts.length >= 2)) {
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.ok(!existsSync(join(out, 'layer1.npy')), 'no final array from an unfinished run');
  const done = manifest(out).rows.length;
  assert.ok(done >= 2 && done < 10, `killed after ${done} images`);
  const r = run(args, dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`resuming, ${done} of 10 images already done`));
  const m = manifest(out);
  assert.equal(m.rows.length, 10);
  assert.equal(new Set(m.rows).size, 10);
  assert.deepEqual(m.rows, [...m.rows].sort());
  assert.equal(loadNpy(join(out, 'layer1.npy')).shape[0], 10);
  assert.deepEqual(
    readdirSync(out).filter((f) => f.includes('.tmp-')),
    [],
  );
});

test('two shards merged equal the unsharded run', async () => {
  const dir = await imageFolder(5);
  const base = ['extract', 'resnet18', '--nodes', 'layer1', '--batch', '4', 'images'];
  assert.equal(run([...base, '--out', 'all'], dir).status, 0);
  assert.equal(run([...base, '--shard', '0/2', '--out', 's0'], dir).status, 0);
  const viaEnv = spawnSync(process.execPath, [MAIN, ...base, '--shard', '2', '--out', 's1'], {
    cwd: dir,
    env: { ...process.env, JOB_COMPLETION_INDEX: '1' },
    encoding: 'utf8',
  });
  assert.equal(viaEnv.status, 0, viaEnv.stderr);
  assert.equal(run(['merge', 's0', 's1', '--out', 'merged'], dir).status, 0);
  const all = manifest(join(dir, 'all')).rows;
  const merged = manifest(join(dir, 'merged')).rows;
  assert.deepEqual([...merged].sort(), all);
  const byPath = (d: string, rows: string[]): Map<string, string> => {
    const t = loadNpy(join(dir, d, 'layer1.npy'));
    const size = t.data.length / rows.length;
    return new Map(
      rows.map((p, i) => [
        p,
        Buffer.from((t.data as Float32Array).slice(i * size, (i + 1) * size).buffer).toString('base64'),
      ]),
    );
  };
  const a = byPath('all', all);
  const b = byPath('merged', merged);
  for (const p of all) assert.equal(b.get(p), a.get(p), p);
});

test('unknown models and nodes, and missing weights, exit non-zero with a clear message', async () => {
  const dir = await imageFolder(1);
  const badModel = run(['extract', 'resnet5', '--nodes', 'layer1', 'images'], dir);
  assert.equal(badModel.status, 1);
  assert.match(badModel.stderr, /^featurefx: error: unknown model 'resnet5'\. Closest: .*resnet50/m);
  const badNode = run(['extract', 'resnet18', '--nodes', 'layer9', 'images'], dir);
  assert.equal(badNode.status, 1);
  assert.match(badNode.stderr, /node 'layer9' is not present.*Closest names: 'layer1'/);
  assert.doesNotMatch(badNode.stderr, /at .*\.js:\d+/, 'no stack trace');
  const noWeights = run(['extract', 'resnet18', '--nodes', 'layer1', '--weights', 'missing.pth', 'images'], dir);
  assert.equal(noWeights.status, 1);
  assert.match(noWeights.stderr, /cannot read weights file 'missing\.pth'/);
  const badWorkers = run(['extract', 'resnet18', '--nodes', 'layer1', '--workers', '-1', 'images'], dir);
  assert.equal(badWorkers.status, 1);
  assert.match(badWorkers.stderr, /'--workers <n>' argument '-1' is invalid\. expected a number of threads \(0, 1,/);
});

test('nodes lists kinds and shapes of the mode asked for, takes the zoo blocks as leaves, and --json gives both lists', () => {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-cli-'));
  const evalRun = run(['nodes', 'resnet18', '--mode', 'eval', '--input-shape', '1,3,64,64'], dir);
  assert.equal(evalRun.status, 0, evalRun.stderr);
  const lines = evalRun.stdout.trim().split('\n');
  assert.equal(lines[0], 'x\tplaceholder\t[1,3,64,64]');
  assert.ok(lines.includes('layer1.0.add\tcall_function\t[1,64,16,16]'), lines.slice(0, 20).join('\n'));
  assert.equal(lines[lines.length - 1], 'fc\tcall_module\t[1,1000]');
  assert.doesNotMatch(evalRun.stderr, /random weights/);

  const leaf = run(['nodes', 'resnet18', '--leaf', 'BasicBlock'], dir);
  assert.equal(leaf.status, 0, leaf.stderr);
  assert.deepEqual(
    leaf.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t')[0])
      .filter((n) => n!.startsWith('layer1')),
    ['layer1.0', 'layer1.1'],
  );

  const json = run(['nodes', 'googlenet', '--json'], dir);
  const parsed = JSON.parse(json.stdout) as { train: string[]; eval: string[] };
  assert.ok(parsed.train.includes('aux1.fc2') && !parsed.eval.includes('aux1.fc2'));

  const badMode = run(['nodes', 'resnet18', '--mode', 'test'], dir);
  assert.notEqual(badMode.status, 0);
  assert.match(badMode.stderr, /Allowed choices are train, eval, both/);
});

test('with --weights, googlenet is built as torchvision builds it for its checkpoint (transform_input on)', async () => {
  const dir = await imageFolder(1);
  const image = join(dir, 'images', 'img-00.png');
  const trained = getModel('googlenet');
  saveSafetensors(trained.stateDict(), join(dir, 'googlenet.safetensors'));
  const r = run(
    ['extract', 'googlenet', '--nodes', 'conv1', '--weights', 'googlenet.safetensors', '--out', 'out', image],
    dir,
  );
  assert.equal(r.status, 0, r.stderr);
  const viaCommand = loadNpy(join(dir, 'out', 'conv1.npy'));

  const entry = classifierEntry('googlenet');
  const input = (await loadImage(image, entry.transform)).unsqueeze(0);
  const expectFor = (transformInput: boolean): Float32Array => {
    const model = getModel('googlenet', { transformInput });
    model.loadStateDict(trained.stateDict());
    const extractor = createFeatureExtractor(model.eval(), { returnNodes: ['conv1'] });
    return (extractor.call(input) as Record<string, Tensor>).conv1!.data as Float32Array;
  };
  const close = (a: Float32Array, b: Float32Array): boolean => a.every((v, i) => Math.abs(v - b[i]!) <= 1e-4);
  const got = viaCommand.data as Float32Array;
  assert.ok(close(got, expectFor(true)), 'features equal the model with transformInput');
  assert.ok(!close(got, expectFor(false)), 'and differ from the model without it');
});
