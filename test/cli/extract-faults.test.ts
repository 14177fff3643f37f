/**
 * Fault injection: `extract` killed with SIGKILL at random points (seeded), during batches and
 * during the final step, then run again until it completes. Every completed folder must equal an
 * uninterrupted run byte for byte, with each image in exactly one row; after every kill the
 * folder holds only featurefx's files.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAIN, type ManifestView, imageFolder, readManifest, run } from './cli-helpers.js';

const IMAGES = 10;
const KILLS = 20;
const FILES = ['early.npy', 'features.3.npy'];
const args = (out: string): string[] => [
  'extract',
  'mobilenet_v3_small',
  '--nodes',
  'features.1=early,features.3',
  '--batch',
  '1',
  '--out',
  out,
  'images',
];

/** mulberry32: the delays are the same on every run of the test. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const manifestOf = (out: string): ManifestView | undefined =>
  existsSync(join(out, 'manifest.json')) ? readManifest(out) : undefined;

/**
 * Runs extract into `out` and kills it when `when` says so (polled every 2 ms), after `delay` ms
 * more. Resolves with whether it was killed, or throws if it failed on its own.
 */
async function runAndKill(
  dir: string,
  out: string,
  when: (startedAt: number) => boolean,
  delay: number,
): Promise<boolean> {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [MAIN, ...args(out)], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  let ended = false;
  void exit.then(() => (ended = true));
  while (!ended && !when(startedAt)) await sleep(2);
  if (!ended) await sleep(delay);
  if (!ended) child.kill('SIGKILL');
  const { code, signal } = await exit;
  if (signal === 'SIGKILL') return true;
  assert.equal(code, 0, stderr);
  return false;
}

test(`extract killed ${KILLS} times at random points resumes to the bytes of an uninterrupted run`, async () => {
  const dir = await imageFolder(IMAGES);
  const reference = run(args('reference'), dir);
  assert.equal(reference.status, 0, reference.stderr);
  const expected = FILES.map((f) => readFileSync(join(dir, 'reference', f)));
  const inputs = readManifest(join(dir, 'reference')).rows;
  assert.equal(inputs.length, IMAGES);

  const checkComplete = (out: string): void => {
    const m = readManifest(out);
    assert.ok(m.complete);
    assert.deepEqual(m.rows, inputs, 'each image once, in order');
    FILES.forEach((f, i) => assert.ok(readFileSync(join(out, f)).equals(expected[i]!), `${out}/${f}`));
    assert.deepEqual(readdirSync(out).sort(), [...FILES, 'manifest.json']);
  };
  const checkKilled = (out: string): void => {
    // Killed before it made the output folder: nothing was written, so nothing can be wrong.
    if (!existsSync(out)) return;
    const m = manifestOf(out);
    const ours = new Set(['manifest.json', '.featurefx-work', ...(m?.outputs ?? [])]);
    assert.deepEqual(
      readdirSync(out).filter((f) => !ours.has(f)),
      [],
      'only featurefx files',
    );
    if (m !== undefined) assert.deepEqual(m.rows, inputs.slice(0, m.rows.length), 'rows: a prefix of the inputs');
  };

  const next = random(11);
  let kills = 0;
  let finalStepKills = 0;
  let episode = 0;
  let out = join(dir, `run-${episode}`);
  while (kills < KILLS) {
    const before = manifestOf(out)?.rows.length ?? 0;
    const mode = next();
    let finalStep = false;
    let when: (startedAt: number) => boolean;
    let delay: number;
    if (mode < 0.25) {
      // Anywhere, start-up included.
      when = () => true;
      delay = next() * 2500;
    } else if (mode < 0.65) {
      // In the middle of the batches.
      const target = before + 1 + Math.floor(next() * 3);
      when = () => (manifestOf(out)?.rows.length ?? 0) >= Math.min(target, IMAGES);
      delay = next() * 40;
    } else {
      // In the final step: joining the parts, renaming, the last manifest. It begins by making
      // the staging folder (a killed run's is older than this run).
      const staging = join(out, '.featurefx-work', 'final');
      when = (startedAt) => (statSync(staging, { throwIfNoEntry: false })?.ctimeMs ?? 0) >= startedAt;
      delay = next() * 10;
      finalStep = true;
    }
    if (await runAndKill(dir, out, when, delay)) {
      kills++;
      checkKilled(out);
      if (finalStep) finalStepKills++;
    } else {
      checkComplete(out);
      out = join(dir, `run-${++episode}`);
    }
  }
  const last = run(args(out), dir);
  assert.equal(last.status, 0, last.stderr);
  checkComplete(out);
  assert.ok(finalStepKills >= 1, `${finalStepKills} kills in the final step`);
  console.log(`# ${kills} kills, ${finalStepKills} in the final step, ${episode + 1} folders`);
});
