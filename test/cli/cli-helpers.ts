/** Running the built `featurefx` command on small generated images (`npm run build` first). */
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'main.js');

// The commands run here inherit this: `extract --weights` would otherwise fill the user's cache
// folder with models of test checkpoints.
process.env.FEATUREFX_NO_CACHE ??= '1';

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
}

/** Runs the command to its end; `timeout` only guards against a hang (the test then fails). */
export function run(args: string[], cwd: string, options: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000, ...options });
  return { status: r.status, signal: r.signal, stderr: String(r.stderr), stdout: String(r.stdout) };
}

/** A temporary folder with `images/img-00.png`... of slightly different sizes and colours. */
export async function imageFolder(count: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-cli-'));
  mkdirSync(join(dir, 'images'));
  for (let i = 0; i < count; i++) {
    const background = { r: 20 * i, g: 100, b: 200 - 10 * i };
    await sharp({ create: { width: 40 + i, height: 32, channels: 3, background } })
      .png()
      .toFile(join(dir, 'images', `img-${String(i).padStart(2, '0')}.png`));
  }
  return dir;
}

export interface ManifestView {
  rows: string[];
  skipped: { path: string; reason: string }[];
  parts: unknown[];
  outputs: string[];
  complete: boolean;
}

export const readManifest = (dir: string): ManifestView =>
  JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ManifestView;
