/** `featurefx nodes model.onnx` (src/cli/onnx-nodes.ts): names, kinds and declared shapes of an ONNX file. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { printOnnxNodes } from '../../src/cli/onnx-nodes.js';
import { FIXTURES_DIR } from '../helpers/compare-with-torch.js';

const REGNET = join(FIXTURES_DIR, 'onnx', 'regnet.onnx');

/** What `run` prints with console.log, line by line. */
async function printed(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(' '));
  try {
    await run();
  } finally {
    console.log = log;
  }
  return lines.join('\n').split('\n');
}

test("nodes of an ONNX file: one line per node, name, ONNX op and the file's shape ('?' where it declares none)", async () => {
  const lines = await printed(() => printOnnxNodes(REGNET, {}));
  assert.equal(lines[0], 'x\tInput\t["batch",3,64,64]');
  assert.equal(lines[1], 'stem.0\tConv\t?');
  assert.ok(lines.includes('trunk_output.block1.block1-0.f.se\tMul\t?'));
  assert.equal(lines.at(-1), 'fc\tGemm\t["batch",10]');
});

test("with --json, the zoo listing's form: train and eval lists (equal: a file has one graph) and details", async () => {
  const text = (await printed(() => printOnnxNodes(REGNET, { json: true }))).join('\n');
  const out = JSON.parse(text) as { train: string[]; eval: string[]; details: { name: string; output: string }[] };
  assert.deepEqual(out.train, out.eval);
  assert.deepEqual(
    out.details.map((d) => d.name),
    out.eval,
  );
  assert.deepEqual(out.details.at(-1), { name: 'fc', kind: 'Gemm', output: 'logits', shape: ['batch', 10] });
});

test('options that only apply to zoo models are refused, saying why', async () => {
  await assert.rejects(
    printOnnxNodes(REGNET, { inputShape: '1,3,64,64' }),
    (e: unknown) =>
      e instanceof InvalidArgumentError &&
      /--leaf and --input-shape apply to zoo models; .*regnet\.onnx is an ONNX file/.test(e.message),
  );
});
