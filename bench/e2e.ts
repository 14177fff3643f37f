/**
 * `npm run bench:e2e`: the main job end to end, featurefx against the script a PyTorch user writes,
 * on the same images, weights, nodes and batch, in one run. It
 * 1. makes the image set in a temporary folder (bench/e2e_data.py: `--images` camera-sized JPEGs,
 *    500 by default, from scikit-image's sample photos) and torchvision's resnet50 weights (seed 0);
 * 2. runs `featurefx extract resnet50 --nodes layer3,layer4 --batch 16` (the built CLI,
 *    dist/cli/main.js, rebuilt first unless `--no-build`) and bench/torch_e2e.py as commands,
 *    measuring wall time from start to exit and peak memory (bench/e2e-measure.ts);
 * 3. does the same on the first 48 images with featurefx cold (an empty cache folder) and warm;
 * 4. prints a table with ratios (featurefx / PyTorch; below 1 is faster or smaller) and the
 *    features' agreement (bench/e2e_data.py agree); `--json FILE` writes the same figures.
 * `--dir DIR` works in DIR and keeps it (the images are made only if DIR has none; with more than
 * `--images`, the first `--images` of them are taken), `--no-small` skips step 3. PyTorch runs with
 * two DataLoader workers and two threads, as the user's script does.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Measured, runMeasured } from './e2e-measure.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const PYTHON = '/usr/bin/python3';
const NODES = ['layer3', 'layer4'];
const BATCH = 16;
const SMALL = 48;
const TORCH_WORKERS = 2;
const TORCH_THREADS = 2;

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
const count = Number(flag('--images') ?? 500);
const countGiven = flag('--images') !== undefined;
if (!Number.isInteger(count) || count < 1)
  throw new RangeError(`--images must be a positive integer, got ${flag('--images')}`);
const withSmall = !process.argv.includes('--no-small');

function build(): void {
  const result = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  // tsc writes its output even with type errors (the tree may hold others' work in progress).
  if (result.status !== 0)
    console.warn(`bench:e2e: the build reported errors; dist/ may not match src/:\n${result.stdout.slice(0, 2000)}`);
}

function python(args: string[]): string {
  return execFileSync(PYTHON, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 26 });
}

function gitCommit(): string {
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', 'src'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return dirty.trim() === '' ? head : `${head} with uncommitted changes in src/`;
}

/** A folder of hard links to the first `n` images of `images` (the runs read folders). */
function firstImages(images: string, n: number, into: string): string {
  mkdirSync(into);
  for (const name of readdirSync(images).sort().slice(0, n)) linkSync(join(images, name), join(into, name));
  return into;
}

function featurefx(images: string, weights: string, out: string, cache: string): Promise<Measured> {
  const args = [
    join(ROOT, 'dist/cli/main.js'),
    'extract',
    'resnet50',
    images,
    '--nodes',
    NODES.join(','),
    '--batch',
    String(BATCH),
    '--weights',
    weights,
    '--out',
    out,
  ];
  return runMeasured(process.execPath, args, { FEATUREFX_CACHE_DIR: cache, XDG_CACHE_HOME: cache });
}

function torch(images: string, weights: string, out: string): Promise<Measured> {
  mkdirSync(out);
  const args = [
    join(HERE, 'torch_e2e.py'),
    images,
    weights,
    out,
    NODES.join(','),
    String(BATCH),
    String(TORCH_WORKERS),
    String(TORCH_THREADS),
  ];
  return runMeasured(PYTHON, args);
}

interface Row {
  name: string;
  images: number;
  featurefx: Measured;
  torch?: Measured;
}

const kept = flag('--dir');
const work = kept === undefined ? mkdtempSync(join(tmpdir(), 'featurefx-e2e-')) : resolve(kept);
const runs = join(work, `runs-${process.pid}`);
// Other work on the machine slows both sides; the load before and after the runs is recorded.
const loadBefore = loadavg()[0]!;
// The commit of the tree that is built, not of the one after the runs.
const commit = gitCommit();
try {
  if (!process.argv.includes('--no-build')) build();
  mkdirSync(work, { recursive: true });
  const weights = join(work, 'resnet50.pth');
  const reused = existsSync(join(work, 'images')) ? readdirSync(join(work, 'images')).length : 0;
  const imageSet = existsSync(join(work, 'images'))
    ? { source: `reused from ${work}`, count: countGiven ? Math.min(count, reused) : reused }
    : (JSON.parse(python([join(HERE, 'e2e_data.py'), 'prepare', work, String(count), String(SMALL)])) as {
        source: string;
        count: number;
      });
  const cache = join(runs, 'cache');
  mkdirSync(cache, { recursive: true });
  const rows: Row[] = [];
  if (withSmall) {
    const small = Math.min(SMALL, imageSet.count);
    const images = join(work, `images-${SMALL}`);
    const cold = await featurefx(images, weights, join(runs, 'ff-small-cold'), cache);
    const warm = await featurefx(images, weights, join(runs, 'ff-small-warm'), cache);
    const torchSmall = await torch(images, weights, join(runs, 'torch-small'));
    rows.push({ name: `${small} images, featurefx cold`, images: small, featurefx: cold, torch: torchSmall });
    rows.push({ name: `${small} images, featurefx warm`, images: small, featurefx: warm, torch: torchSmall });
  }
  const ffOut = join(runs, 'ff');
  const torchOut = join(runs, 'torch');
  const images =
    imageSet.count < reused
      ? firstImages(join(work, 'images'), imageSet.count, join(runs, 'images'))
      : join(work, 'images');
  const ff = await featurefx(images, weights, ffOut, cache);
  const th = await torch(images, weights, torchOut);
  rows.push({ name: `${imageSet.count} images`, images: imageSet.count, featurefx: ff, torch: th });
  const agreement = JSON.parse(
    python([join(HERE, 'e2e_data.py'), 'agree', ffOut, torchOut, NODES.join(','), 'layer4']),
  ) as Record<string, { median: number; worst: number } | number>;
  const manifest = JSON.parse(readFileSync(join(ffOut, 'manifest.json'), 'utf8')) as {
    job: { preprocessing: unknown };
  };
  const torchSide = JSON.parse(th.stdout) as { preset: unknown };

  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown CPU',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadAverage: { before: loadBefore, after: loadavg()[0]! },
  };
  const figures = rows.map(({ name, images, featurefx: f, torch: t }) => ({
    name,
    images,
    featurefx: { wallS: f.wallS, imagesPerS: images / f.wallS, peakRssMb: f.peakRssMb, peakTreePssMb: f.peakTreePssMb },
    torch: t && {
      wallS: t.wallS,
      imagesPerS: images / t.wallS,
      peakRssMb: t.peakRssMb,
      peakTreePssMb: t.peakTreePssMb,
    },
  }));

  console.log(
    `featurefx ${commit}; ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB; node ${machine.node}; load ${loadBefore.toFixed(1)} before, ${machine.loadAverage.after.toFixed(1)} after`,
  );
  console.log(
    `images: ${imageSet.count} JPEGs 1280x960, ${imageSet.source}; resnet50 ${NODES.join(',')}, batch ${BATCH}`,
  );
  console.log(
    `preprocessing: featurefx ${JSON.stringify(manifest.job.preprocessing)}, torchvision ${JSON.stringify(torchSide.preset)}`,
  );
  console.log(`PyTorch: DataLoader with ${TORCH_WORKERS} workers, ${TORCH_THREADS} threads; featurefx: its defaults\n`);
  const pad = (s: string, n: number): string => s.padStart(n);
  const cell = (f: number, t: number | undefined, digits: number): string =>
    `${pad(f.toFixed(digits), 9)} ${pad(t === undefined ? '' : t.toFixed(digits), 9)} ${pad(t === undefined ? '' : (f / t).toFixed(2), 6)}`;
  const LABEL = 32;
  console.log(`${'run'.padEnd(LABEL)} ${pad('featurefx', 9)} ${pad('PyTorch', 9)} ${pad('ratio', 6)}`);
  for (const r of figures) {
    console.log(r.name);
    console.log('  wall s'.padEnd(LABEL), cell(r.featurefx.wallS, r.torch?.wallS, 2));
    console.log('  images/s'.padEnd(LABEL), cell(r.featurefx.imagesPerS, r.torch?.imagesPerS, 1));
    console.log('  peak RSS, largest process MB'.padEnd(LABEL), cell(r.featurefx.peakRssMb, r.torch?.peakRssMb, 0));
    console.log(
      '  peak PSS, process tree MB'.padEnd(LABEL),
      cell(r.featurefx.peakTreePssMb, r.torch?.peakTreePssMb, 0),
    );
  }
  console.log(`\nagreement over ${agreement.images} images (featurefx against torchvision's pipeline):`);
  for (const [key, value] of Object.entries(agreement)) {
    if (typeof value === 'number') continue;
    const cosine = key.startsWith('cosine');
    const show = (v: number): string => (cosine ? v.toFixed(7) : v.toExponential(2));
    const what = cosine ? `${key}, pooled` : `${key} relative error`;
    console.log(`  ${what.padEnd(LABEL)} median ${show(value.median)}  worst ${show(value.worst)}`);
  }
  const jsonFile = flag('--json');
  if (jsonFile !== undefined) {
    const preprocessing = { featurefx: manifest.job.preprocessing, torchvision: torchSide.preset };
    const settings = { nodes: NODES, batch: BATCH, torchWorkers: TORCH_WORKERS, torchThreads: TORCH_THREADS };
    const record = {
      date: new Date().toISOString(),
      commit,
      machine,
      imageSet,
      settings,
      preprocessing,
      figures,
      agreement,
    };
    writeFileSync(jsonFile, `${JSON.stringify(record, null, 2)}\n`);
  }
} finally {
  // A kept --dir keeps the images and weights; the features go.
  rmSync(kept === undefined ? work : runs, { recursive: true, force: true });
}
