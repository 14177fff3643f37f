/**
 * The page of `featurefx serve`, end to end in headless Chromium (Debian's, driven by playwright-core):
 * the built command serves it on 127.0.0.1, the page exports resnet18 through the server, draws the
 * feature maps of `layer1` and `layer3` for the bundled sample, and its pixels are the maps featurefx
 * computes in Node for the same file and image; a truncated name finds its node, and a broken .onnx
 * file gets a readable error. It also times a click on resnet50's `layer3` until the grid is on
 * screen (docs/PERFORMANCE.md). Screenshots and timings go to test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { cropImage, loadImage } from '../../src/cli/images.js';
import { heatOverlayPixels } from '../../src/explain/heat-overlay-pixels.js';
import { loadNpy } from '../../src/io/npy.js';
import { decodeOnnxModel } from '../../src/onnx/read-model.js';
import { NativeSession } from '../../src/runtime/native-session.js';
import { encodeModel } from '../../src/runtime/onnx-model.js';
import { channelStats, featureMapPixels } from '../../src/explain/feature-map-pixels.js';
import { createFeatureExtractor } from '../../src/featureExtraction/create-feature-extractor.js';
import { classifierEntry } from '../../src/cli/model-setup.js';
import { OnnxModel } from '../../src/onnx/onnx-model.js';
import { fromData } from '../../src/tensor/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { NO_CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { MAIN } from '../cli/cli-helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'browser');
const SAMPLE = join(ROOT, 'assets', 'sample.png');
/** How long a model may take to export on the server, download and be read by the page. */
const LOAD_TIMEOUT = 120_000;

/** `featurefx serve --port 0` as a subprocess, with the URL it prints. */
async function startServe(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`featurefx serve printed no URL:\n${output}`)), 60_000);
    const read = (chunk: Buffer): void => {
      output += String(chunk);
      const found = /serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (found !== null) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.on('exit', (code) => reject(new Error(`featurefx serve exited with ${code}:\n${output}`)));
  });
  return { url, child };
}

/** Runs `body` on a new page of Chromium next to a fresh `featurefx serve`, then stops both. */
async function withServedPage(body: (page: Page, url: string) => Promise<void>): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const { url, child } = await startServe();
  try {
    const browser = await launchChromium();
    try {
      await body(await browser.newPage({ viewport: { width: 1440, height: 960 } }), url);
    } finally {
      await browser.close();
    }
  } finally {
    child.kill('SIGTERM');
  }
}

/** Picks a zoo model and waits until the page is ready: its node tree shown, the image preprocessed for it. */
async function pickModel(page: Page, name: string): Promise<void> {
  await page.selectOption('#model-select', name);
  await page.waitForSelector(`#node-tree [data-node="layer3"]`, { timeout: LOAD_TIMEOUT });
  await page.waitForSelector('#status:text-is("ready")', { timeout: LOAD_TIMEOUT });
}

/**
 * Clicks a tree row and waits for its panel's grid; returns the panel's click-to-screen time and
 * its parts: waiting for the page's earlier work, getting the session (pruning and creating it
 * unless cached) and running it.
 */
async function selectNode(
  page: Page,
  name: string,
): Promise<{ ms: number; waitMs: number; sessionMs: number; runMs: number }> {
  await page.click(`#node-tree [data-node="${name}"] .label`);
  const panel = await page.waitForSelector(`#panels [data-panel="${name}"][data-ready="true"]`, {
    timeout: LOAD_TIMEOUT,
  });
  const [ms, waitMs, sessionMs, runMs] = await Promise.all(
    ['data-ms', 'data-wait-ms', 'data-session-ms', 'data-run-ms'].map(async (a) => Number(await panel.getAttribute(a))),
  );
  return { ms: ms!, waitMs: waitMs!, sessionMs: sessionMs!, runMs: runMs! };
}

/** The part of a page's canvas read here (the tests compile without the DOM's types). */
interface PageCanvas {
  width: number;
  height: number;
  dataset: Record<string, string>;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}

/** The RGBA pixels of one canvas of the page. */
async function canvasPixels(page: Page, selector: string): Promise<{ width: number; data: number[] }> {
  return page.$eval(selector, (element) => {
    const canvas = element as unknown as PageCanvas;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    return { width: canvas.width, data: Array.from(pixels) };
  });
}

/** The model input the page computed last (its preprocessing of the image), as [dims, values]. */
async function pageInput(page: Page): Promise<Tensor> {
  const { dims, data } = await page.evaluate(() => {
    const last = (globalThis as unknown as { featurefxPage: { lastInput: { dims: number[]; data: Float32Array } } })
      .featurefxPage.lastInput;
    return { dims: last.dims, data: Array.from(last.data) };
  });
  return fromData('float32', dims, Float32Array.from(data));
}

/**
 * A panel's grid shows `channels` (by default the first 64, the page's default) and equals the
 * features computed in Node, drawn with the panel's colour map; its statistics are Node's too.
 */
async function assertPanelMatches(
  page: Page,
  node: string,
  features: Tensor,
  channels = Array.from({ length: Math.min(64, features.shape[1]!) }, (_, c) => c),
): Promise<void> {
  const panel = `#panels [data-panel="${node}"]`;
  const colormap = await page.$eval(
    `${panel} select.colormap`,
    (select) => (select as unknown as { value: string }).value,
  );
  const drawn = await panelPixels(page, node);
  assert.deepEqual([...drawn.keys()], channels, `${node}: the channels drawn`);
  assertSamePixels(drawn, features, colormap, node);
  const [, , height, width] = features.shape as [number, number, number, number];
  for (const c of [channels[0]!, channels.at(-1)!]) {
    const cells = await page.$$eval(`${panel} tr[data-channel="${c}"] td`, (tds) => tds.map((td) => td.textContent));
    const want = channelStats(features.data as Float32Array, c * height * width, height * width);
    [want.min, want.max, want.mean, want.std].forEach((v, i) => {
      const shown = Number(cells[i + 1]);
      assert.ok(Math.abs(shown - v) <= 1e-3 * Math.abs(v) + 1e-6, `${node} channel ${c} stat ${i}: ${shown} vs ${v}`);
    });
  }
}

/** An ONNX model of one-channel images: x [1, 1, 8, 8] -> Relu. */
function grayModel(): Uint8Array {
  return encodeModel({
    name: 'gray',
    inputs: [{ name: 'x', type: 'float32', shape: [1, 1, 8, 8] }],
    outputs: [{ name: 'y', type: 'float32', shape: [1, 1, 8, 8] }],
    nodes: [{ opType: 'Relu', inputs: ['x'], outputs: ['y'], name: 'relu' }],
    initializers: [],
  });
}

/** The part of the page's DataTransfer used here (the tests compile without the DOM's types). */
interface PageDataTransfer {
  items: { add(file: File): void };
}

/** A PNG of `width` x `height` with a pattern in every channel, so that resampling shows. */
async function writePattern(path: string, width: number, height: number): Promise<void> {
  const rgb = Buffer.alloc(width * height * 3);
  rgb.forEach((_, i) => (rgb[i] = (Math.floor(i / 3) * (7 + (i % 3)) + Math.floor(i / (3 * width)) * 13) % 256));
  await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
}

/** Clicks a download link and returns the file the browser was given. */
async function download(page: Page, selector: string): Promise<{ name: string; bytes: Uint8Array }> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const path = await file.path();
  return { name: file.suggestedFilename(), bytes: new Uint8Array(readFileSync(path)) };
}

/** Each value within 1e-4 (relative above 1) of Node's: WebAssembly and native kernels sum in other orders. */
function assertAllClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  const worst = actual.reduce((w, v, i) => Math.max(w, Math.abs(v - expected[i]!) / (1 + Math.abs(expected[i]!))), 0);
  assert.ok(worst <= 1e-4, `${what}: differs from Node's by ${worst}`);
}

/** The RGBA pixels of each channel canvas of a panel, by channel index. */
async function panelPixels(page: Page, name: string): Promise<Map<number, { width: number; data: number[] }>> {
  const canvases = await page.$$eval(`#panels [data-panel="${name}"] canvas[data-channel]`, (elements) =>
    elements.map((element) => {
      const canvas = element as unknown as PageCanvas;
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      return { channel: Number(canvas.dataset.channel), width: canvas.width, data: Array.from(pixels) };
    }),
  );
  return new Map(canvases.map(({ channel, width, data }) => [channel, { width, data }]));
}

/**
 * Each canvas equals featureMapPixels of the same channel computed in Node, up to colour-map steps
 * where a value sits on a level boundary (float sums differ between WebAssembly and native code).
 */
function assertSamePixels(
  drawn: Map<number, { width: number; data: number[] }>,
  features: Tensor,
  colormap: string,
  node: string,
): void {
  const [, , height, width] = features.shape as [number, number, number, number];
  const data = features.data as Float32Array;
  let differing = 0;
  let total = 0;
  const colours = new Set<number>();
  for (const [channel, canvas] of drawn) {
    assert.equal(canvas.width, width, `${node} channel ${channel}: canvas width`);
    const want = featureMapPixels(data, channel * height * width, height, width, colormap as 'viridis');
    canvas.data.forEach((v, i) => {
      const gap = Math.abs(v - want[i]!);
      assert.ok(gap <= 16, `${node} channel ${channel} byte ${i}: ${v} drawn, ${want[i]} computed in Node`);
      if (gap > 0) differing++;
      total++;
      if (i % 4 === 0) colours.add((v << 16) | (canvas.data[i + 1]! << 8) | canvas.data[i + 2]!);
    });
  }
  assert.ok(differing / total < 0.01, `${node}: ${differing} of ${total} bytes differ from Node's`);
  assert.ok(colours.size > 32, `${node}: the grid has only ${colours.size} colours`);
}

test(
  'featurefx serve: resnet18 feature maps on the page equal Node, search finds truncated names, bad .onnx errors',
  { skip: NO_CHROMIUM, timeout: 600_000 },
  async (t) => {
    await withServedPage(async (page, url) => {
      const consoleErrors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      const requests: string[] = [];
      page.on('request', (request) => requests.push(`${request.method()} ${request.url()}`));
      await page.goto(url);
      await pickModel(page, 'resnet18');
      t.diagnostic(`backend: ${await page.textContent('#backend')}`);

      // A truncated name resolves as createFeatureExtractor resolves it: the last node under it.
      await page.fill('#node-search', 'layer3');
      await page.press('#node-search', 'Enter');
      assert.match((await page.textContent('#search-result')) ?? '', /layer3\.1\.relu_1/);
      assert.equal(await page.getAttribute('#node-tree .found', 'data-node'), 'layer3.1.relu_1');
      await page.fill('#node-search', 'layer4.0.downsample');
      await page.press('#node-search', 'Enter');
      assert.equal(await page.getAttribute('#node-tree .found', 'data-node'), 'layer4.0.downsample.1');
      await page.fill('#node-search', 'layer9');
      await page.press('#node-search', 'Enter');
      assert.match((await page.textContent('#search-result')) ?? '', /layer9/);

      await selectNode(page, 'layer1');
      await selectNode(page, 'layer3');
      await page.screenshot({ path: join(ARTIFACTS, 'resnet18-layer1-layer3.png'), fullPage: true });

      // The same file and the same image in Node: the page's input is bit-exact, its maps within rounding.
      const preset = classifierEntry('resnet18').transform;
      const bytes = new Uint8Array(await (await fetch(`${url}api/zoo/resnet18.onnx`)).arrayBuffer());
      const extractor = createFeatureExtractor(OnnxModel.fromBytes(bytes), { returnNodes: ['layer1', 'layer3'] });
      const input = await loadImage(SAMPLE, preset);
      const batch = input.reshape([1, ...input.shape]);
      assert.deepEqual(
        Array.from((await pageInput(page)).data as Float32Array),
        Array.from(input.data as Float32Array),
      );
      const features = extractor.call(batch);
      for (const node of ['layer1', 'layer3']) await assertPanelMatches(page, node, features[node]!);
      // The panel's controls redraw what was computed: other channels, another colour map.
      const layer1 = '#panels [data-panel="layer1"]';
      await page.fill(`${layer1} input.channels`, '2-5,60');
      await page.press(`${layer1} input.channels`, 'Enter');
      await page.selectOption(`${layer1} select.colormap`, 'inferno');
      await assertPanelMatches(page, 'layer1', features['layer1']!, [2, 3, 4, 5, 60]);

      // The downloads: the extractor of the selected nodes, and each node's features.
      const onnxFile = await download(page, '#download-onnx');
      assert.match(onnxFile.name, /^resnet18-.*\.onnx$/);
      assert.deepEqual(
        decodeOnnxModel(onnxFile.bytes).graph!.output.map((o) => o.name),
        ['layer1.1.relu_1', 'layer3.1.relu_1'],
      );
      const npyFile = await download(page, '#panels [data-panel="layer3"] a.download-npy');
      const saved = loadNpy(npyFile.bytes);
      assert.deepEqual(saved.shape, features['layer3']!.shape);
      assertAllClose(saved.data as Float32Array, features['layer3']!.data as Float32Array, 'layer3.npy');

      // Grad-CAM of the top class at layer4: the server's Grad-CAM file run in Node, drawn as the page draws it.
      await page.click('#gradcam-run');
      await page.waitForSelector('#gradcam-result:has-text("class ")', { timeout: LOAD_TIMEOUT });
      const gradCamFile = new Uint8Array(
        await (await fetch(`${url}api/zoo/resnet18/gradcam.onnx?node=layer4`)).arrayBuffer(),
      );
      const session = new NativeSession(gradCamFile, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
      const [cam, , target] = session.run([
        { type: 'float32', dims: [1, ...input.shape], data: input.data },
        { type: 'int64', dims: [1], data: BigInt64Array.of(-1n) },
      ]);
      session.dispose();
      assert.match(
        (await page.textContent('#gradcam-result')) ?? '',
        new RegExp(`class ${(target!.data as BigInt64Array)[0]} `),
      );
      const overlay = heatOverlayPixels(await cropImage(SAMPLE, preset), cam!.data as Float32Array, 0.5);
      const drawn = await canvasPixels(page, '#gradcam-canvas');
      assert.equal(drawn.width, preset.cropSize);
      const rgb = drawn.data.filter((_, i) => i % 4 !== 3);
      const gaps = rgb.map((v, i) => Math.abs(v - overlay[i]!));
      assert.ok(
        gaps.every((gap) => gap <= 8),
        'Grad-CAM pixels far from Node',
      );
      const off = gaps.filter((gap) => gap > 0).length;
      assert.ok(off / rgb.length < 0.02, `Grad-CAM: ${off} of ${rgb.length} bytes differ from Node's`);
      await page.screenshot({ path: join(ARTIFACTS, 'resnet18-gradcam.png'), fullPage: true });

      // A file that is not ONNX: a readable error on the page, and the page stays usable.
      await page.setInputFiles('#onnx-file', {
        name: 'broken.onnx',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from('this is not an onnx model'),
      });
      await page.waitForSelector('#error:not([hidden])');
      const error = (await page.textContent('#error')) ?? '';
      assert.match(error, /broken\.onnx/);
      assert.match(error, /not an ONNX model|damaged/);
      await page.screenshot({ path: join(ARTIFACTS, 'broken-onnx.png'), fullPage: true });

      // A model that does not take RGB images is refused when opened, not when run.
      await page.setInputFiles('#onnx-file', {
        name: 'gray.onnx',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from(grayModel()),
      });
      await page.waitForSelector('#error:has-text("gray.onnx takes")');
      assert.match((await page.textContent('#error')) ?? '', /\[N, 3, H, W\]/);

      // An ONNX file of torch.onnx's: read in the page, named with torchvision's names, its maps Node's.
      await page.setInputFiles('#onnx-file', join(ROOT, 'test', 'fixtures', 'onnx', 'regnet.onnx'));
      const block = 'trunk_output.block2';
      await page.waitForSelector(`#node-tree [data-node="${block}"]`, { timeout: LOAD_TIMEOUT });
      assert.equal(await page.isHidden('#error'), true, 'the error of the broken file is gone');
      for (const name of ['stem', 'trunk_output.block1.block1-0.activation', 'fc']) {
        assert.equal(await page.locator(`#node-tree [data-node="${name}"]`).count(), 1, name);
      }
      assert.equal(await page.isDisabled('#gradcam-run'), true, 'no Grad-CAM for a file');
      await selectNode(page, block);
      const fileInput = await pageInput(page);
      assert.deepEqual(fileInput.shape, [1, 3, 64, 64]);
      const regnet = await OnnxModel.load(join(ROOT, 'test', 'fixtures', 'onnx', 'regnet.onnx'));
      const regnetFeatures = createFeatureExtractor(regnet, { returnNodes: [block] }).call(fileInput);
      await assertPanelMatches(page, block, regnetFeatures[block]!);
      await page.screenshot({ path: join(ARTIFACTS, 'regnet-onnx-file.png'), fullPage: true });

      // An image dropped on the page is preprocessed for the file's input (resize 73, crop 64) as Node does it.
      const scratch = mkdtempSync(join(tmpdir(), 'featurefx-page-'));
      t.after(() => rmSync(scratch, { recursive: true, force: true }));
      const dropped = join(scratch, 'dropped.png');
      await writePattern(dropped, 150, 90);
      const before = (await pageInput(page)).data[0];
      const transfer = await page.evaluateHandle(
        ([bytes, name]) => {
          const page = globalThis as unknown as { DataTransfer: new () => PageDataTransfer };
          const dataTransfer = new page.DataTransfer();
          dataTransfer.items.add(new File([Uint8Array.from(bytes)], name, { type: 'image/png' }));
          return dataTransfer;
        },
        [Array.from(readFileSync(dropped)), 'dropped.png'] as const,
      );
      await page.dispatchEvent('body', 'drop', { dataTransfer: transfer });
      await page.waitForFunction(
        (first) =>
          (globalThis as unknown as { featurefxPage: { lastInput: { data: Float32Array } } }).featurefxPage.lastInput
            .data[0] !== first,
        before,
      );
      const droppedInput = await loadImage(dropped, { resizeSize: 73, cropSize: 64, interpolation: 'bilinear' });
      assert.deepEqual(
        Array.from((await pageInput(page)).data as Float32Array),
        Array.from(droppedInput.data as Float32Array),
      );

      // Nothing leaves the machine: every request goes to the server, and none sends data.
      const base = new URL(url).origin;
      assert.deepEqual(
        requests.filter(
          (r) => !r.startsWith(`GET ${base}/`) && !r.startsWith('GET blob:') && !r.startsWith('GET data:'),
        ),
        [],
      );
      assert.deepEqual(consoleErrors, []);
    });
  },
);

test(
  'featurefx serve: time from clicking resnet50 layer3 to its grid on screen, at 224x224',
  { skip: NO_CHROMIUM, timeout: 600_000 },
  async (t) => {
    await withServedPage(async (page, url) => {
      await page.goto(url);
      const loadStart = Date.now();
      await pickModel(page, 'resnet50');
      const loadMs = Date.now() - loadStart;
      // The first click prunes the model and makes its session; a second one finds the session made.
      const first = await selectNode(page, 'layer3');
      await page.click('#node-tree [data-node="layer3"] .label');
      await page.waitForSelector('#panels [data-panel="layer3"]', { state: 'detached' });
      const again = await selectNode(page, 'layer3');
      await page.screenshot({ path: join(ARTIFACTS, 'resnet50-layer3.png'), fullPage: true });
      // The baseline of the same run: the same file pruned to layer3, run by onnxruntime-node in Node.
      const bytes = new Uint8Array(await (await fetch(`${url}api/zoo/resnet50.onnx`)).arrayBuffer());
      const extractor = createFeatureExtractor(OnnxModel.fromBytes(bytes), { returnNodes: ['layer3'] });
      const input = await loadImage(SAMPLE, classifierEntry('resnet50').transform);
      const batch = input.reshape([1, ...input.shape]);
      extractor.call(batch);
      const nodeRuns = [0, 1, 2].map(() => {
        const start = performance.now();
        extractor.call(batch);
        return performance.now() - start;
      });
      const figures = {
        backend: await page.textContent('#backend'),
        modelLoadMs: loadMs,
        firstClick: first,
        secondClick: again,
        nodeRunMs: Math.round(nodeRuns.sort((a, b) => a - b)[1]!),
      };
      writeFileSync(join(ARTIFACTS, 'resnet50-layer3-timing.json'), `${JSON.stringify(figures, null, 2)}\n`);
      t.diagnostic(JSON.stringify(figures));
      assert.ok(first.ms > 0 && again.ms > 0, 'the page reports its click-to-grid times');
      assert.ok(again.sessionMs < first.sessionMs, 'the second click finds the session made by the first');
    });
  },
);

test(
  'dist/web on a plain static host (no API, no isolation headers): the page reads an ONNX file on one thread',
  { skip: NO_CHROMIUM, timeout: 600_000 },
  async () => {
    const folder = join(ROOT, 'dist', 'web');
    const types: Record<string, string> = {
      '.html': 'text/html',
      '.css': 'text/css',
      '.js': 'text/javascript',
      '.mjs': 'text/javascript',
      '.wasm': 'application/wasm',
      '.png': 'image/png',
    };
    // A static host as a user might have one: files by path, 404 otherwise, no special headers.
    const server = createServer((req, res) => {
      const path = join(folder, decodeURIComponent((req.url ?? '/').split('?')[0]!));
      const file = path.endsWith(sep) ? join(path, 'index.html') : path;
      if (!file.startsWith(folder) || !existsSync(file)) return void res.writeHead(404).end();
      res
        .writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' })
        .end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 960 } });
      const consoleErrors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForSelector('#status:text-is("static page: open an .onnx file")');
      assert.match((await page.textContent('#backend')) ?? '', /1 thread/);
      await page.setInputFiles('#onnx-file', join(ROOT, 'test', 'fixtures', 'onnx', 'regnet.onnx'));
      await page.waitForSelector('#status:text-is("ready")', { timeout: LOAD_TIMEOUT });
      await selectNode(page, 'trunk_output.block1');
      await page.screenshot({ path: join(ARTIFACTS, 'static-host-regnet.png'), fullPage: true });
      // The page asks for api/models to learn it has no server; that 404 is the only failed request.
      assert.deepEqual(
        consoleErrors.filter((e) => !/404/.test(e)),
        [],
      );
    } finally {
      await browser.close();
      server.close();
    }
  },
);
