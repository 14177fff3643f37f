/**
 * An exported feature extractor runs in a real browser: headless Chromium (Debian's package,
 * driven by playwright-core) loads it with onnxruntime-web from a page served on 127.0.0.1, and
 * its outputs equal onnxruntime-node's.
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
import { compile } from '../../src/fx/compile.js';
import { exportOnnx } from '../../src/fx/onnx-export.js';
import { resnet18 } from '../../src/models/resnet.js';
import { randn } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const CHROMIUM = '/usr/bin/chromium';
const ORT_DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', 'onnxruntime-web', 'dist');

const PAGE = `<!doctype html><script type="module">
import * as ort from '/ort/ort.wasm.min.mjs';
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;
try {
  const input = new Float32Array(await (await fetch('/input.bin')).arrayBuffer());
  const session = await ort.InferenceSession.create('/model.onnx');
  const out = await session.run({ x: new ort.Tensor('float32', input, [1, 3, 64, 64]) });
  window.result = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { dims: t.dims, data: Array.from(t.data) }]));
} catch (e) {
  window.failure = String(e);
}
</script>`;

test(
  "an exported model runs in onnxruntime-web in headless Chromium with onnxruntime-node's outputs",
  { skip: !existsSync(CHROMIUM) && `no ${CHROMIUM}: apt-get install chromium` },
  async () => {
    const extractor = createFeatureExtractor(resnet18().eval(), { returnNodes: { layer1: 'early', layer2: 'mid' } });
    const model = exportOnnx(extractor, { inputShape: [1, 3, 64, 64] });
    const x = randn([1, 3, 64, 64]);
    const expected = compile(extractor).call(x) as Record<string, Tensor>;
    const files: Record<string, [string, Uint8Array | string]> = {
      '/': ['text/html', PAGE],
      '/model.onnx': ['application/octet-stream', model],
      '/input.bin': ['application/octet-stream', new Uint8Array((x.data as Float32Array).buffer)],
    };
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
      const result = await page.evaluate(
        () => (globalThis as unknown as { result: Record<string, { dims: number[]; data: number[] }> }).result,
      );
      assert.deepEqual(Object.keys(result), ['early', 'mid']);
      for (const [key, t] of Object.entries(expected)) {
        assert.deepEqual(result[key]!.dims, [...t.shape]);
        const want = t.data as Float32Array;
        result[key]!.data.forEach((v, i) =>
          assert.ok(Math.abs(v - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)), `${key}[${i}]: ${v} vs ${want[i]}`),
        );
      }
    } finally {
      await browser.close();
      server.close();
    }
  },
);
