/**
 * The package as users get it: `npm pack` of the built tree (`npm test` builds first), installed
 * into an empty project from the npm cache that `npm ci` filled. The library imports and runs, the
 * `featurefx` command extracts the bundled sample image's features, TypeScript resolves the
 * types, and the tarball holds what is needed and nothing else.
 */
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadNpy } from '../../src/io/npy.js';
import { listModels } from '../../src/models/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

// The npm_* variables an `npm test` run exports describe this repository (its prefix, package
// name, ...); the nested npm must see the consumer project instead. onnxruntime-node's install
// script is skipped as users behind a firewall skip it (README).
const env: NodeJS.ProcessEnv = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key];

let work = '';
let consumer = '';
let packedFiles: string[] = [];

function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  // The whole catalogue is 1.5 MB of JSON on stdout.
  return spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

function expectSuccess(r: SpawnSyncReturns<string>, what: string): string {
  if (r.error !== undefined) throw new Error(`${what}: ${r.error.message}`);
  assert.equal(r.status, 0, `${what} failed:\n${r.stderr}`);
  return r.stdout;
}

before(() => {
  for (const built of ['index.js', 'index.d.ts', 'cli/main.js', 'catalogue.json'])
    if (!existsSync(join(ROOT, 'dist', built)))
      throw new Error(`dist/${built} is missing: run \`npm run build\` first (npm test does)`);
  work = mkdtempSync(join(tmpdir(), 'featurefx-package-'));
  // --ignore-scripts: pack the dist/ the build made instead of building again (prepack/prepare).
  const pack = expectSuccess(
    run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT),
    'npm pack',
  );
  const [packed] = JSON.parse(pack) as [{ filename: string; files: { path: string }[] }];
  packedFiles = packed.files.map((f) => f.path);
  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const install = run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed.filename)],
    consumer,
  );
  if (install.status !== 0)
    throw new Error(
      'installing the packed featurefx failed. It needs the npm registry, or the npm cache that `npm ci` ' +
        `fills (offline: run \`npm ci\` once while online). npm said:\n${install.stderr}`,
    );
});

after(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

test('the tarball has the code, types, catalogue, page, sample image, README and LICENSE, and nothing else', () => {
  for (const needed of [
    'package.json',
    'README.md',
    'LICENSE',
    'assets/sample.png',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/cli/main.js',
    'dist/catalogue.json',
    'dist/web/index.html',
    'dist/web/app.js',
    'dist/web/ort/ort-wasm-simd-threaded.jsep.wasm',
  ])
    assert.ok(packedFiles.includes(needed), `${needed} is packed`);
  // Compiled code and declarations, the catalogue, the page (`featurefx serve`'s dist/web: its bundle's
  // map carries its sources) and the documents: no tests, fixtures, sources or other source maps (maps
  // of dist/'s code would point at src/, which is not shipped).
  const shipped = /^(dist\/.+\.(js|d\.ts)|dist\/catalogue\.json|assets\/sample\.png|package\.json|README\.md|LICENSE)$/;
  const page = /^dist\/web\/(index\.html|style\.css|sample\.png|app\.js\.map|ort\/ort-wasm-[\w.-]+\.(mjs|wasm))$/;
  assert.deepEqual(
    packedFiles.filter((p) => !(shipped.test(p) || page.test(p)) || /\.test\.(js|d\.ts)$/.test(p)),
    [],
  );
});

test('the installed library imports and runs a feature extractor; the catalogue imports as JSON', () => {
  writeFileSync(
    join(consumer, 'use.js'),
    [
      "import { createFeatureExtractor, rand, resnet18 } from 'featurefx';",
      "import catalogue from 'featurefx/catalogue.json' with { type: 'json' };",
      "const extractor = createFeatureExtractor(resnet18().eval(), { returnNodes: ['layer1'] });",
      'const shape = extractor.call(rand([1, 3, 64, 64])).layer1.shape;',
      'console.log(JSON.stringify({ shape, models: Object.keys(catalogue.models) }));',
    ].join('\n'),
  );
  const out = expectSuccess(run(process.execPath, ['use.js'], consumer), 'node use.js');
  assert.deepEqual(JSON.parse(out), { shape: [1, 64, 16, 16], models: listModels({ task: 'classification' }) });
});

test('the installed featurefx command extracts features of the bundled sample image', () => {
  const r = run(
    'npx',
    ['--no', 'featurefx', 'extract', 'resnet18', '--nodes', 'layer1', '--out', 'features'],
    consumer,
  );
  expectSuccess(r, 'npx featurefx extract');
  assert.deepEqual([...loadNpy(join(consumer, 'features', 'layer1.npy')).shape], [1, 64, 56, 56]);
  assert.ok(existsSync(join(consumer, 'features', 'manifest.json')), 'manifest.json is written');
});

test('the installed featurefx command prints the shipped catalogue', () => {
  const out = expectSuccess(run('npx', ['--no', 'featurefx', 'nodes', '--catalogue'], consumer), 'nodes --catalogue');
  const catalogue = JSON.parse(out) as { models: Record<string, unknown> };
  assert.deepEqual(Object.keys(catalogue.models).sort(), listModels({ task: 'classification' }));
});

test('TypeScript resolves the types of the installed package (node16 and bundler resolution)', () => {
  writeFileSync(
    join(consumer, 'check.ts'),
    [
      "import { createFeatureExtractor, featureInfo, resnet18, type FeatureInfo } from 'featurefx';",
      "const extractor = createFeatureExtractor(resnet18(), { returnNodes: { layer1: 'c2' } });",
      'const info: FeatureInfo[] = featureInfo(extractor, { inputShape: [1, 3, 224, 224] });',
      'export const channels: number | undefined = info[0]?.channels;',
      '// @ts-expect-error: real types, not `any`: resnet18 takes an options object',
      "resnet18('wide');",
    ].join('\n'),
  );
  // The declarations themselves are checked once (skipLibCheck off, no @types: they must stand
  // on their own); the second resolution only needs to find them.
  for (const [module, moduleResolution, skipLibCheck] of [
    ['node16', 'node16', false],
    ['esnext', 'bundler', true],
  ] as const) {
    const compilerOptions = {
      module,
      moduleResolution,
      skipLibCheck,
      target: 'es2022',
      strict: true,
      noEmit: true,
      types: [],
    };
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['check.ts'] }));
    const r = run(process.execPath, [TSC, '-p', '.'], consumer);
    assert.equal(r.status, 0, `tsc with moduleResolution ${moduleResolution}:\n${r.stdout}${r.stderr}`);
  }
});
