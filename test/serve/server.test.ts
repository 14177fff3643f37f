/**
 * `startServer` in this process on a free port, with a stand-in page: the API of the page's
 * contract, the export cache, and what the server refuses (other methods, other Hosts, paths
 * outside the page's files).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { handMadeModel } from '../../scripts/make-hand-made-onnx.js';
import { FeatureExtractionError, OnnxFormatError } from '../../src/errors.js';
import { exportGradCam } from '../../src/explain/grad-cam.js';
import { saveSafetensors } from '../../src/io/safetensors.js';
import { getModel } from '../../src/models/index.js';
import { skipInit } from '../../src/nn/init.js';
import { nameOnnxNodes } from '../../src/onnx/node-names.js';
import { decodeOnnxModel, encodeOnnxModel } from '../../src/onnx/read-model.js';
import { manualSeed } from '../../src/tensor/generator.js';
import { type RunningServer, startServer } from '../../src/serve/server.js';
import { errorOf, send, standInPage } from './serve-helpers.js';

const DENSENET = join(import.meta.dirname, '..', 'fixtures', 'onnx', 'densenet.onnx');
const work = mkdtempSync(join(tmpdir(), 'featurefx-serve-'));
const page = standInPage();
let server: RunningServer;
/** squeezenet1_0's weights, served with `weights: squeezenet1_0 -> squeezenet.safetensors`. */
let squeezenetWeights: Float32Array;

/** The hand-made model with its `block_w` in the file weights.bin beside it. */
function externalDataModel(): { path: string; blockW: Float32Array } {
  const folder = join(work, 'external');
  mkdirSync(folder);
  const model = handMadeModel();
  const tensor = model.graph!.initializer.find((t) => t.name === 'block_w')!;
  const blockW = Float32Array.from(tensor.floatData);
  writeFileSync(join(folder, 'weights.bin'), blockW);
  tensor.floatData = [];
  tensor.dataLocation = 1;
  tensor.externalData = [{ key: 'location', value: 'weights.bin' }];
  writeFileSync(join(folder, 'hand made.onnx'), encodeOnnxModel(model));
  return { path: join(folder, 'hand made.onnx'), blockW };
}

let external: { path: string; blockW: Float32Array };

before(async () => {
  manualSeed(7);
  const squeezenet = getModel('squeezenet1_0');
  squeezenetWeights = Float32Array.from(squeezenet.stateDict().get('features.0.weight')!.data as Float32Array);
  saveSafetensors(squeezenet.stateDict(), join(work, 'squeezenet.safetensors'));
  external = externalDataModel();
  server = await startServer({
    port: 0,
    pageFolder: page,
    files: [DENSENET, external.path],
    weights: new Map([['squeezenet1_0', join(work, 'squeezenet.safetensors')]]),
  });
});

after(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
  rmSync(page, { recursive: true, force: true });
});

test('GET api/models lists the classifiers with their presets and weights, and the files given', async () => {
  const reply = await send(server.url, '/api/models');
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-type'], 'application/json');
  const models = JSON.parse(reply.body.toString()) as {
    zoo: { name: string; weights: string; preset: Record<string, unknown> }[];
    files: { name: string; url: string }[];
  };
  const names = models.zoo.map((m) => m.name);
  assert.ok(names.includes('resnet18') && names.includes('vit_b_16'));
  assert.ok(!names.some((n) => n.startsWith('fasterrcnn') || n.startsWith('maskrcnn')), 'no detection model');
  assert.deepEqual(names, [...names].sort(), "the registry's order");
  const byName = new Map(models.zoo.map((m) => [m.name, m]));
  assert.deepEqual(byName.get('resnet18'), {
    name: 'resnet18',
    weights: 'random',
    preset: {
      resizeSize: 256,
      cropSize: 224,
      interpolation: 'bilinear',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    },
  });
  assert.equal(byName.get('squeezenet1_0')!.weights, 'squeezenet.safetensors');
  assert.deepEqual(byName.get('efficientnet_b1')!.preset, {
    resizeSize: 255,
    cropSize: 240,
    interpolation: 'bilinear',
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  });
  assert.deepEqual(models.files, [
    { name: 'densenet.onnx', url: 'api/files/0/densenet.onnx' },
    { name: 'hand made.onnx', url: 'api/files/1/hand%20made.onnx' },
  ]);
});

test("GET api/zoo/resnet18.onnx is the whole model exported by featurefx, named by featurefx's names", async (t) => {
  const notices: string[] = [];
  t.mock.method(process.stderr, 'write', (text: string) => notices.push(text));
  const reply = await send(server.url, '/api/zoo/resnet18.onnx');
  t.mock.restoreAll();
  assert.equal(reply.status, 200);
  // The notice of random weights names serve's own option.
  assert.match(notices.join(''), /resnet18 has random weights \(pass --weights resnet18=FILE to load a checkpoint\)/);
  assert.equal(reply.headers['content-type'], 'application/octet-stream');
  const model = decodeOnnxModel(reply.body);
  assert.ok(nameOnnxNodes(model).some((n) => n.name === 'layer1.1.relu_1'));
  const dims = model.graph!.input[0]!.type!.tensorType!.shape!.dim.map((d) => d.dimParam ?? d.dimValue);
  assert.deepEqual(dims, ['batch', 3, 224, 224]);
});

test('a model is exported once: concurrent and later requests get the same bytes from the cache', async () => {
  const before = server.exportCount();
  const [a, b] = await Promise.all([
    send(server.url, '/api/zoo/squeezenet1_0.onnx'),
    send(server.url, '/api/zoo/squeezenet1_0.onnx'),
  ]);
  const c = await send(server.url, '/api/zoo/squeezenet1_0.onnx');
  assert.equal(server.exportCount() - before, 1);
  assert.equal(a.status, 200);
  assert.ok(a.body.equals(b.body) && a.body.equals(c.body));
  // The weights file given for the model is what it exports.
  const conv = decodeOnnxModel(a.body).graph!.initializer.find((t) => t.name === 'features.0.weight')!;
  const raw = conv.rawData!;
  assert.deepEqual(
    new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)),
    squeezenetWeights,
  );
});

test("an unknown model and a detection model are 404 with the registry's message", async () => {
  const unknown = await send(server.url, '/api/zoo/resnet19.onnx');
  assert.equal(unknown.status, 404);
  assert.match(errorOf(unknown), /^unknown model 'resnet19'\. Closest: resnet18/);
  const detection = await send(server.url, '/api/zoo/fasterrcnn_resnet50_fpn.onnx');
  assert.equal(detection.status, 404);
  assert.match(errorOf(detection), /fasterrcnn_resnet50_fpn is a detection model/);
  // A name is looked up, never used as a path.
  const path = await send(server.url, '/api/zoo/..%2F..%2Fpackage.json.onnx');
  assert.equal(path.status, 404);
  assert.match(errorOf(path), /^unknown model '\.\.\/\.\.\/package\.json'/);
});

test("api/zoo/NAME/gradcam.onnx?node= is the Grad-CAM model; a bad node is 400 with featurefx's message", async () => {
  const reply = await send(server.url, '/api/zoo/squeezenet1_0/gradcam.onnx?node=features');
  assert.equal(reply.status, 200);
  const model = decodeOnnxModel(reply.body);
  assert.deepEqual(
    model.graph!.input.map((i) => i.name),
    ['x', 'target'],
  );
  assert.deepEqual(
    model.graph!.output.map((o) => o.name),
    ['cam', 'logits', 'target_class'],
  );
  let expected = '';
  assert.throws(
    () =>
      exportGradCam(skipInit(() => getModel('squeezenet1_0')).eval(), {
        node: 'featurez',
        inputShape: [1, 3, 224, 224],
      }),
    (e: unknown) => e instanceof FeatureExtractionError && (expected = e.message) !== '',
  );
  const bad = await send(server.url, '/api/zoo/squeezenet1_0/gradcam.onnx?node=featurez');
  assert.equal(bad.status, 400);
  assert.equal(errorOf(bad), expected);
  const none = await send(server.url, '/api/zoo/squeezenet1_0/gradcam.onnx');
  assert.equal(none.status, 400);
  assert.match(
    errorOf(none),
    /name the node of the Grad-CAM model: api\/zoo\/squeezenet1_0\/gradcam\.onnx\?node=layer4/,
  );
});

test("a zoo model's Grad-CAM model holds the random weights of its exported model, even when built again", async () => {
  const weight = (bytes: Buffer): Uint8Array =>
    decodeOnnxModel(bytes).graph!.initializer.find((t) => t.name === 'features.0.0.weight')!.rawData!;
  const model = await send(server.url, '/api/zoo/mobilenet_v3_small.onnx');
  // Another model is built in between.
  assert.equal((await send(server.url, '/api/zoo/squeezenet1_0/gradcam.onnx?node=features.12')).status, 200);
  const gradCam = await send(server.url, '/api/zoo/mobilenet_v3_small/gradcam.onnx?node=features');
  assert.equal(gradCam.status, 200);
  assert.deepEqual(weight(gradCam.body), weight(model.body));
});

test('api/files/I/NAME is the I-th file given, its external data inlined; other names are 404', async () => {
  const densenet = await send(server.url, '/api/files/0/densenet.onnx');
  assert.equal(densenet.status, 200);
  assert.deepEqual(decodeOnnxModel(densenet.body), decodeOnnxModel(readFileSync(DENSENET)));
  const handMade = await send(server.url, '/api/files/1/hand%20made.onnx');
  const blockW = decodeOnnxModel(handMade.body).graph!.initializer.find((t) => t.name === 'block_w')!;
  assert.deepEqual(blockW.externalData, []);
  assert.deepEqual(new Float32Array(blockW.rawData!.slice().buffer), external.blockW);
  for (const path of ['/api/files/1/densenet.onnx', '/api/files/2/densenet.onnx', '/api/files/00/densenet.onnx'])
    assert.equal((await send(server.url, path)).status, 404, path);
});

test("the page's files are served with their content types; only they, by their exact path", async () => {
  const index = await send(server.url, '/');
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.body.toString(), readFileSync(join(page, 'index.html'), 'utf8'));
  assert.equal((await send(server.url, '/ort/runtime.mjs')).headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await send(server.url, '/app.js')).headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await send(server.url, '/ort/runtime.wasm')).headers['content-type'], 'application/wasm');
  writeFileSync(join(page, 'later.js'), '');
  for (const path of [
    '/../package.json',
    '/ort/../../package.json',
    '/%2e%2e/package.json',
    '/%2E%2E%2Fpackage.json',
    '/ort%2Fruntime.mjs',
    '/ort/..%2f..%2fpackage.json',
    '/..\\package.json',
    '//etc/passwd',
    '/etc/passwd',
    `/${join(page, 'index.html')}`,
    '/later.js',
  ]) {
    const reply = await send(server.url, path);
    assert.equal(reply.status, 404, path);
    assert.match(errorOf(reply), /^nothing is served at /);
  }
});

test('only GET and HEAD: HEAD has the headers and no body, other methods are 405', async () => {
  const head = await send(server.url, '/app.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String(readFileSync(join(page, 'app.js')).length));
  assert.equal(head.body.length, 0);
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const reply = await send(server.url, '/api/models', { method });
    assert.equal(reply.status, 405, method);
    assert.equal(reply.headers.allow, 'GET, HEAD');
    assert.match(errorOf(reply), new RegExp(`^${method} is not allowed`));
  }
});

test('a request for another Host is 403 (DNS rebinding); localhost and the bound address are served', async () => {
  const { port } = new URL(server.url);
  for (const host of ['attacker.example:' + port, `127.0.0.1:${Number(port) + 1}`, `localhost`]) {
    const reply = await send(server.url, '/api/models', { host });
    assert.equal(reply.status, 403, `Host ${host}`);
    assert.match(errorOf(reply), /^this server answers requests for http:\/\/127\.0\.0\.1:\d+\/ or http:\/\/localhost/);
  }
  for (const host of [`localhost:${port}`, `LOCALHOST:${port}`, `127.0.0.1:${port}`])
    assert.equal((await send(server.url, '/', { host })).status, 200, host);
});

test("the API refuses another site's pages (403, no export); the page's own requests and other clients are served", async () => {
  const exported = server.exportCount();
  for (const site of ['cross-site', 'same-site']) {
    const reply = await send(server.url, '/api/zoo/alexnet.onnx', { headers: { 'sec-fetch-site': site } });
    assert.equal(reply.status, 403, site);
    assert.equal(
      errorOf(reply),
      `the API answers the page served at ${server.url} only, not a page of another site ` +
        `(Sec-Fetch-Site: ${site}); open that page to explore the models`,
    );
  }
  assert.equal(server.exportCount(), exported, 'nothing was exported');
  // A link from another site still opens the page, which then asks the API itself.
  assert.equal((await send(server.url, '/', { headers: { 'sec-fetch-site': 'cross-site' } })).status, 200);
  for (const headers of [{ 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none' }, {}])
    assert.equal((await send(server.url, '/api/models', { headers })).status, 200, JSON.stringify(headers));
});

test('every reply carries the isolation and security headers', async () => {
  for (const path of ['/', '/api/models', '/nowhere']) {
    const { headers } = await send(server.url, path);
    assert.equal(headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(headers['cross-origin-embedder-policy'], 'require-corp');
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['referrer-policy'], 'no-referrer');
    // What the built page needs, checked in Chromium: no inline script, no other origin.
    assert.equal(
      headers['content-security-policy'],
      "default-src 'self'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; worker-src 'self' blob:; " +
        "img-src 'self' blob: data:; connect-src 'self' blob: data:; style-src 'self'; object-src 'none'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
  }
});

test('the server does not start without the built page, with a file that is not ONNX, or on a port in use', async () => {
  await assert.rejects(startServer({ port: 0, pageFolder: join(work, 'nowhere') }), {
    message: `the page is not built; run \`npm run build\` (${join(work, 'nowhere', 'index.html')} does not exist)`,
  });
  writeFileSync(join(work, 'notes.onnx'), 'not a model');
  await assert.rejects(
    startServer({ port: 0, pageFolder: page, files: [join(work, 'notes.onnx')] }),
    (e: unknown) =>
      e instanceof OnnxFormatError && e.message.startsWith(`Load model from '${join(work, 'notes.onnx')}' failed`),
  );
  const { port } = new URL(server.url);
  await assert.rejects(startServer({ port: Number(port), pageFolder: page }), {
    message: `port ${port} is in use; pass --port 0 for a free one or another port`,
  });
});
