/**
 * Builds the page `featurefx serve` serves (and anyone can host as static files) into dist/web/:
 * web/main.ts bundled by esbuild into app.js (with the browser-safe src/ files it imports and
 * onnxruntime-web), index.html, style.css, the sample image, and onnxruntime-web's JSEP runtime in
 * ort/ (one WebAssembly build that runs both the WASM and the WebGPU backends). Run by `npm run build`
 * after the catalogue. Reports the time taken and the sizes.
 */
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const started = performance.now();
const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'dist', 'web');
const ortDist = join(root, 'node_modules', 'onnxruntime-web', 'dist');
/** What onnxruntime-web loads from `env.wasm.wasmPaths` (checked with Chromium's network log). */
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'ort'), { recursive: true });
await build({
  entryPoints: [join(root, 'web', 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  // A src/ file that reaches a node: module fails the build here instead of failing in the browser.
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  // onnxruntime-web's build that loads its runtime from ort/ (wasmPaths) instead of inlining it: its
  // worker threads start from that runtime's own .mjs, not from the page's bundle.
  conditions: ['onnxruntime-web-use-extern-wasm'],
  logLevel: 'warning',
});
copyFileSync(join(root, 'web', 'index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'web', 'style.css'), join(out, 'style.css'));
copyFileSync(join(root, 'assets', 'sample.png'), join(out, 'sample.png'));
for (const file of ORT_FILES) copyFileSync(join(ortDist, file), join(out, 'ort', file));

const megabytes = (path: string) => (statSync(path).size / 1e6).toFixed(1);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
// On stderr, as the catalogue step: `npm pack --json` runs the build and prints its JSON on stdout.
console.error(
  `web: app.js ${megabytes(join(out, 'app.js'))} MB, ort/ ` +
    `${ORT_FILES.map((f) => megabytes(join(out, 'ort', f))).join(' + ')} MB, ${seconds} s -> ${out}`,
);
