/**
 * An exported feature extractor runs in a real browser: headless Chromium (Debian's package,
 * driven by playwright-core) loads it with onnxruntime-web from a page served on 127.0.0.1, and
 * its outputs equal onnxruntime-node's; so does an exported Grad-CAM model, whose gradient is part of
 * the graph. And ONNX files from elsewhere are read, named and pruned in the page by featurefx's
 * browser-safe src/onnx files (bundled by esbuild), with Node's names and outputs.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { compileGradCam, exportGradCam } from '../../src/explain/grad-cam.js';
import { compile } from '../../src/fx/compile.js';
import { exportOnnx } from '../../src/fx/onnx-export.js';
import { resnet18 } from '../../src/models/resnet.js';
import { OnnxModel } from '../../src/onnx/onnx-model.js';
import { pruneModel } from '../../src/onnx/prune.js';
import { decodeOnnxModel, encodeOnnxModel } from '../../src/onnx/read-model.js';
import { randn, tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { NO_CHROMIUM, launchChromium } from '../helpers/chromium.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ORT_DIST = join(HERE, '..', '..', 'node_modules', 'onnxruntime-web', 'dist');
const FIXTURES = join(HERE, '..', 'fixtures', 'onnx');

/** Runs /model.onnx on the inputs listed in /inputs.json, in the order of the model's inputs. */
const PAGE = `<!doctype html><script type="module">
import * as ort from '/ort/ort.wasm.min.mjs';
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;
try {
  const session = await ort.InferenceSession.create('/model.onnx');
  const feeds = {};
  for (const [i, input] of (await (await fetch('/inputs.json')).json()).entries()) {
    const bytes = await (await fetch('/input-' + i + '.bin')).arrayBuffer();
    const data = input.type === 'int64' ? new BigInt64Array(bytes) : new Float32Array(bytes);
    feeds[session.inputNames[i]] = new ort.Tensor(input.type, data, input.dims);
  }
  const out = await session.run(feeds);
  window.result = Object.fromEntries(
    Object.entries(out).map(([k, t]) => [k, { dims: t.dims, data: Array.from(t.data, Number) }]),
  );
} catch (e) {
  window.failure = String(e);
}
</script>`;

type PageResult = Record<string, { dims: number[]; data: number[] }>;

/** What a page is served: path -> [content type, body]. */
type PageFiles = Record<string, [string, Uint8Array | string]>;

/** The outputs of an ONNX model run by onnxruntime-web in headless Chromium, served from 127.0.0.1. */
async function runInChromium(model: Uint8Array, inputs: readonly Tensor[]): Promise<PageResult> {
  const files: PageFiles = {
    '/': ['text/html', PAGE],
    '/model.onnx': ['application/octet-stream', model],
    '/inputs.json': ['application/json', JSON.stringify(inputs.map((t) => ({ type: t.dtype, dims: t.shape })))],
  };
  inputs.forEach((t, i) => (files[`/input-${i}.bin`] = ['application/octet-stream', bytesOf(t)]));
  return runPage<PageResult>(files);
}

function bytesOf(t: Tensor): Uint8Array {
  const data = t.data as Float32Array | BigInt64Array;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Serves `files` (and onnxruntime-web's dist under /ort/) on 127.0.0.1, opens '/' in headless Chromium
 * and returns what the page sets as `window.result`; fails with the page's `window.failure`.
 */
async function runPage<T>(files: PageFiles): Promise<T> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0]!;
    const file = files[url];
    if (file !== undefined) {
      res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
    } else if (url.startsWith('/ort/') && !normalize(url).includes('..')) {
      const path = join(ORT_DIST, url.slice('/ort/'.length));
      if (!existsSync(path)) return void res.writeHead(404).end();
      const type = path.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
      res.writeHead(200, { 'content-type': type }).end(readFileSync(path));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium().catch((error: unknown) => {
    server.close();
    throw error;
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => 'result' in globalThis || 'failure' in globalThis, undefined, {
      timeout: 60_000,
    });
    const failure = await page.evaluate(() => (globalThis as unknown as { failure?: string }).failure);
    assert.equal(failure, undefined);
    return await page.evaluate(() => (globalThis as unknown as { result: T }).result);
  } finally {
    await browser.close();
    server.close();
  }
}

/** Each value within 1e-4 (relative above 1) of onnxruntime-node's. */
function assertNear(actual: { dims: number[]; data: number[] }, expected: Tensor, key: string): void {
  assert.deepEqual(actual.dims, [...expected.shape], key);
  const want = expected.data as Float32Array;
  actual.data.forEach((v, i) =>
    assert.ok(Math.abs(v - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)), `${key}[${i}]: ${v} vs ${want[i]}`),
  );
}

test(
  "an exported model runs in onnxruntime-web in headless Chromium with onnxruntime-node's outputs",
  { skip: NO_CHROMIUM },
  async () => {
    const extractor = createFeatureExtractor(resnet18().eval(), { returnNodes: { layer1: 'early', layer2: 'mid' } });
    const model = exportOnnx(extractor, { inputShape: [1, 3, 64, 64] });
    const x = randn([1, 3, 64, 64]);
    const expected = compile(extractor).call(x) as Record<string, Tensor>;
    const result = await runInChromium(model, [x]);
    assert.deepEqual(Object.keys(result), ['early', 'mid']);
    for (const [key, t] of Object.entries(expected)) assertNear(result[key]!, t, key);
  },
);

test(
  "exportGradCam's model (forward, symbolic gradient and map) gives compileGradCam's map in onnxruntime-web",
  { skip: NO_CHROMIUM },
  async () => {
    const model = resnet18().eval();
    const x = randn([2, 3, 64, 64]);
    // One image's class given, the other's the top class (-1).
    const target = tensor([7, -1], { dtype: 'int64' });
    const bytes = exportGradCam(model, { node: 'layer4', inputShape: x.shape });
    const cams = compileGradCam(model, { node: 'layer4' });
    const expected = cams.call(x, [7, -1]);
    cams.dispose();
    const result = await runInChromium(bytes, [x, target]);
    assert.deepEqual(Object.keys(result).sort(), ['cam', 'logits', 'target_class']);
    assert.deepEqual(result.target_class!.data, expected.target);
    assertNear(result.cam!, expected.cam, 'cam');
    assertNear(result.logits!, expected.logits, 'logits');
  },
);

/**
 * Reads /model.onnx with featurefx's bundle, names its nodes, prunes it to the nodes in /request.json
 * and runs that with onnxruntime-web; also re-encodes /int64.onnx (int64 extremes in an attribute).
 */
const ONNX_PAGE = `<!doctype html><script type="module">
import * as ort from '/ort/ort.wasm.min.mjs';
import { decodeOnnxModel, encodeOnnxModel, nameOnnxNodes, pruneModel } from '/featurefx-onnx.js';
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;
const bytes = async (path) => new Uint8Array(await (await fetch(path)).arrayBuffer());
try {
  const { picks, dims } = await (await fetch('/request.json')).json();
  const model = decodeOnnxModel(await bytes('/model.onnx'));
  const nodes = nameOnnxNodes(model);
  const pruned = pruneModel(model, picks.map((name) => nodes.find((n) => n.name === name).output));
  const session = await ort.InferenceSession.create(encodeOnnxModel(pruned));
  const x = new ort.Tensor('float32', new Float32Array((await bytes('/input-0.bin')).buffer), dims);
  const out = await session.run({ [session.inputNames[0]]: x });
  window.result = {
    names: nodes.map((n) => n.name),
    prunedNodes: pruned.graph.node.length,
    outputs: session.outputNames.map((k) => ({ dims: out[k].dims, data: Array.from(out[k].data) })),
    int64: Array.from(encodeOnnxModel(decodeOnnxModel(await bytes('/int64.onnx')))),
  };
} catch (e) {
  window.failure = String(e && e.stack || e);
}
</script>`;

interface OnnxPageResult {
  names: string[];
  prunedNodes: number;
  outputs: { dims: number[]; data: number[] }[];
  int64: number[];
}

test(
  "a torch.onnx file is read, named and pruned to two nodes in the browser, with Node's names and outputs",
  { skip: NO_CHROMIUM },
  async () => {
    const path = join(FIXTURES, 'regnet.onnx');
    const onnxModel = await OnnxModel.load(path);
    const names = onnxModel.nodeNames();
    const picks = ['trunk_output.block1.block1-0.f.se', 'trunk_output.block2.block2-0.add'];
    const x = randn([1, 3, 64, 64]);
    const expected = onnxModel.run(x, picks);
    onnxModel.dispose();
    // A model with INT64_MAX / INT64_MIN in an attribute (Slice's "to the end"), which the browser's
    // protobufjs must encode back exactly as Node's does.
    const withExtremes = decodeOnnxModel(readFileSync(join(FIXTURES, 'hand-made.onnx')));
    const extremes = { ...withExtremes.graph!.node[0]!.attribute[0]!, name: 'extremes', ints: [2 ** 63, -(2 ** 63)] };
    withExtremes.graph!.node[0]!.attribute.push(extremes);
    const int64 = encodeOnnxModel(withExtremes);

    const bundle = await build({
      entryPoints: [join(HERE, 'onnx-page-entry.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const result = await runPage<OnnxPageResult>({
      '/': ['text/html', ONNX_PAGE],
      '/featurefx-onnx.js': ['text/javascript', bundle.outputFiles[0]!.text],
      '/model.onnx': ['application/octet-stream', readFileSync(path)],
      '/int64.onnx': ['application/octet-stream', int64],
      '/request.json': ['application/json', JSON.stringify({ picks, dims: x.shape })],
      '/input-0.bin': ['application/octet-stream', bytesOf(x)],
    });
    assert.deepEqual(result.names, names);
    // The same pruned graph as Node's, which leaves out the blocks after the picks.
    const outputs = picks.map((name) => onnxModel.nodes().find((n) => n.name === name)!.output);
    const kept = pruneModel(onnxModel.proto, outputs).graph!.node.length;
    assert.equal(result.prunedNodes, kept);
    assert.ok(kept < onnxModel.proto.graph!.node.length - 10, `${kept} nodes kept`);
    picks.forEach((name, i) => {
      const want = expected[name]!;
      assert.deepEqual(result.outputs[i]!.dims, want.shape, name);
      const data = want.data as Float32Array;
      result.outputs[i]!.data.forEach((v, j) =>
        assert.ok(Math.abs(v - data[j]!) <= 1e-5, `${name}[${j}]: ${v} vs ${data[j]}`),
      );
    });
    assert.deepEqual(new Uint8Array(result.int64), int64);
  },
);
