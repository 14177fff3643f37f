/**
 * `npm run bench -- --only start`: how long a one-image job takes from the shell, the way a user
 * meets the start-up cost (issue 18: under 1 s warm). `featurefx extract resnet50` with a
 * torch.save'd resnet50 checkpoint and `--nodes layer3,layer4` on one JPEG, timed from process
 * start to exit (median of 5): cold (an empty model cache) and warm (the same job again, ONNX
 * Runtime's optimised model on disk), against bench/torch_e2e.py doing the same one-image job in
 * the same run (Debian's python3-torch and python3-torchvision, which also make the checkpoint).
 * dist/ is rebuilt first.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';
const RUNS = 5;
const NODES = 'layer3,layer4';

/** Wall time of a command from start to exit, in ms; a failure stops the benchmark. */
function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t = performance.now();
  const r = spawnSync(command, args, { encoding: 'utf8', env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`bench start: ${command} ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface StartFigures {
  featurefx: Record<string, number>;
  /** PyTorch's time for the same job, by the featurefx row it compares with. */
  pytorch: Record<string, number>;
}

export async function startFigures(threads: number): Promise<StartFigures> {
  if (spawnSync(PYTHON, ['-c', 'import torchvision'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      'bench start: needs /usr/bin/python3 with torch and torchvision (apt-get install python3-torchvision)',
    );
  }
  const built = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) console.warn('bench start: the build reported errors; dist/ may not match src/');
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-start-'));
  try {
    return await measure(dir, threads);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(dir: string, threads: number): Promise<StartFigures> {
  const weights = join(dir, 'resnet50.pth');
  const save = `import torch, torchvision; torch.save(torchvision.models.resnet50().state_dict(), ${JSON.stringify(weights)})`;
  timed(PYTHON, ['-c', save]);
  const images = join(dir, 'images');
  mkdirSync(images);
  const image = join(images, 'sample.jpg');
  await sharp(join(ROOT, 'assets', 'sample.png'))
    .jpeg({ quality: 95 })
    .toFile(image);
  const out = join(dir, 'out');
  const cache = join(dir, 'cache');
  const env = { ...process.env, FEATUREFX_CACHE_DIR: cache, FEATUREFX_NO_CACHE: '' };
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  const extract = (): number => {
    rmSync(out, { recursive: true, force: true });
    const args = ['--threads', String(threads), 'extract', 'resnet50', image, '--weights', weights];
    return timed(process.execPath, [main, ...args, '--nodes', NODES, '--out', out], env);
  };
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    rmSync(cache, { recursive: true, force: true });
    cold.push(extract());
    warm.push(extract());
  }
  const script = join(ROOT, 'bench', 'torch_e2e.py');
  const torch: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    torch.push(timed(PYTHON, [script, images, weights, out, NODES, '1', '0', String(threads)]));
  }
  const warmRow = 'start: extract resnet50, one image, warm';
  const coldRow = 'start: extract resnet50, one image, cold';
  return {
    featurefx: { [warmRow]: median(warm), [coldRow]: median(cold) },
    pytorch: { [warmRow]: median(torch), [coldRow]: median(torch) },
  };
}
