/**
 * An exported feature extractor runs in a real browser: headless Chromium (Debian's package,
 * driven by playwright-core) loads it with onnxruntime-web from a page served on 127.0.0.1, and
 * its outputs equal onnxruntime-node's; so does an exported Grad-CAM model, whose gradient is part of
 * the graph.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { compileGradCam, exportGradCam } from '../../src/explain/grad-cam.js';
import { compile } from '../../src/fx/compile.js';
import { exportOnnx } from '../../src/fx/onnx-export.js';
import { resnet18 } from '../../src/models/resnet.js';
import { randn, tensor } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const CHROMIUM = '/usr/bin/chromium';
const ORT_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', 'onnxruntime-web', 'dist');

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

/** The outputs of an ONNX model run by onnxruntime-web in headless Chromium, served from 127.0.0.1. */
async function runInChromium(model: Uint8Array, inputs: readonly Tensor[]): Promise<PageResult> {
  const files: Record<string, [string, Uint8Array | string]> = {
    '/': ['text/html', PAGE],
    '/model.onnx': ['application/octet-stream', model],
    '/inputs.json': ['application/json', JSON.stringify(inputs.map((t) => ({ type: t.dtype, dims: t.shape })))],
  };
  inputs.forEach((t, i) => {
    const data = t.data as Float32Array | BigInt64Array;
    files[`/input-${i}.bin`] = [
      'application/octet-stream',
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    ];
  });
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
  // playwright-core gives the browser a fresh temporary profile of its own.
  const browser = await chromium
    .launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    .catch((error: unknown) => {
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
    return await page.evaluate(() => (globalThis as unknown as { result: PageResult }).result);
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

const NO_CHROMIUM = !existsSync(CHROMIUM) && `no ${CHROMIUM}: apt-get install chromium`;

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
