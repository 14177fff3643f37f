/**
 * `extract` and `merge` on bad days, through the built command: an --out holding the user's
 * files, colliding keys, two runs on one folder, a resume of another job, shards that are not one
 * split, a full disk at the final step, hostile input folders, a damaged manifest, bad options.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { saveSafetensors } from '../../src/io/safetensors.js';
import { getModel } from '../../src/models/index.js';
import { parseNodes } from '../../src/cli/model-setup.js';
import { checkFileNames } from '../../src/cli/output-keys.js';
import { parseShard } from '../../src/cli/shard.js';
import { MAIN, imageFolder, readManifest, run } from './cli-helpers.js';

const MODEL = 'mobilenet_v3_small';
const extract = (out: string, ...more: string[]): string[] => [
  'extract',
  MODEL,
  '--nodes',
  'features.1',
  '--batch',
  '2',
  '--out',
  out,
  ...more,
  'images',
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 6000 && !condition(); i++) await sleep(10);
  assert.ok(condition(), `timed out waiting until ${what}`);
}

const exited = (child: ChildProcess): Promise<number | null> =>
  new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));

test("an --out holding the user's files is refused and left as it was; a finished one holds only featurefx's files", async () => {
  const dir = await imageFolder(2);
  const out = join(dir, 'out');
  mkdirSync(join(out, 'parts'), { recursive: true });
  writeFileSync(join(out, 'parts', 'thesis.tex'), 'mine');
  writeFileSync(join(out, 'draft.tmp-1'), 'mine too');
  const r = run(extract('out'), dir);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /--out out holds files featurefx did not write \(draft\.tmp-1, parts\).*choose a new --out/);
  assert.equal(readFileSync(join(out, 'parts', 'thesis.tex'), 'utf8'), 'mine');
  assert.equal(readFileSync(join(out, 'draft.tmp-1'), 'utf8'), 'mine too');
  assert.deepEqual(readdirSync(out).sort(), ['draft.tmp-1', 'parts']);

  const intoInputs = run(extract('images'), dir);
  assert.equal(intoInputs.status, 1);
  assert.match(intoInputs.stderr, /--out images holds files featurefx did not write \(img-00\.png, img-01\.png\)/);
  assert.deepEqual(readdirSync(join(dir, 'images')), ['img-00.png', 'img-01.png']);

  const fresh = run(extract('fresh'), dir);
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.deepEqual(readdirSync(join(dir, 'fresh')).sort(), ['features.1.npy', 'manifest.json']);
});

test('output keys that would share a file, empty keys, keys with =, and a node asked twice are refused', async () => {
  const dir = await imageFolder(1);
  const r = run(['extract', MODEL, '--nodes', 'features.1=a/b,features.3=a_b', '--out', 'out', 'images'], dir);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /the keys 'a\/b' and 'a_b' would both be written to 'a_b\.npy'/);
  assert.ok(!existsSync(join(dir, 'out')), 'nothing written');
  const cases: [string, RegExp][] = [
    ['features.1=é,features.3=è', /the keys 'é' and 'è' would both be written to '_\.npy'/],
    ['features.1=Layer,features.3=layer', /the keys 'Layer' and 'layer' would both be written/],
    ['features.1=', /--nodes 'features\.1=': the key is empty/],
    ['=x', /--nodes '=x': the node name is empty/],
    ['features.1=a=b', /--nodes 'features\.1=a=b': a key cannot contain '='/],
    ['features.1,features.1=x', /--nodes asks for the node 'features\.1' twice/],
    ['features.1=x,features.3=x', /--nodes gives the nodes 'features\.1' and 'features\.3' one key 'x'/],
  ];
  for (const [nodes, message] of cases) {
    assert.throws(
      () => checkFileNames(Object.values(parseNodes(nodes))),
      (e: unknown) => e instanceof RangeError && message.test(e.message),
      nodes,
    );
  }
});

test('a second run on the same --out while the first holds it fails fast and names the holder', async () => {
  const dir = await imageFolder(6);
  const out = join(dir, 'out');
  const first = spawn(process.execPath, [MAIN, ...extract('out', '--batch', '1')], { cwd: dir, stdio: 'ignore' });
  try {
    await waitFor(
      () => existsSync(join(out, '.featurefx-work', 'lock')) || existsSync(join(out, 'manifest.json')),
      'the first run starts writing',
    );
    // Paused, the first run holds the folder for as long as the second one needs.
    first.kill('SIGSTOP');
    const second = run(extract('out'), dir);
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`another featurefx \\(pid ${first.pid}\\) is writing to out`));
  } finally {
    first.kill('SIGCONT');
  }
  assert.equal(await exited(first), 0);
  const m = readManifest(out);
  assert.equal(m.rows.length, 6);
  assert.deepEqual(readdirSync(out).sort(), ['features.1.npy', 'manifest.json']);
});

test('a resume of another job is refused saying what differs; a stale lock is taken over; new images on a finished folder are named', async () => {
  const dir = await imageFolder(8);
  const out = join(dir, 'out');
  for (const name of ['a', 'b']) saveSafetensors(getModel(MODEL).stateDict(), join(dir, `${name}.safetensors`));
  const withA = extract('out', '--batch', '1', '--weights', 'a.safetensors');
  const killed = spawn(process.execPath, [MAIN, ...withA], { cwd: dir, stdio: 'ignore' });
  await waitFor(() => existsSync(join(out, 'manifest.json')) && readManifest(out).parts.length >= 1, 'a part');
  killed.kill('SIGKILL');
  await exited(killed);
  assert.equal(readManifest(out).complete, false);

  const withB = run(extract('out', '--weights', 'b.safetensors'), dir);
  assert.equal(withB.status, 1, withB.stderr);
  assert.match(withB.stderr, new RegExp(`taking over .*lock from pid ${killed.pid}, which is no longer running`));
  assert.match(withB.stderr, /out holds an unfinished run of another job, whose rows must not be mixed/);
  assert.match(withB.stderr, /weights: \S*a\.safetensors \(sha256 [0-9a-f]{12}…\) then, \S*b\.safetensors \(sha256 /);
  const random = run(extract('out'), dir);
  assert.equal(random.status, 1);
  assert.match(random.stderr, /weights: \S*a\.safetensors \(sha256 [0-9a-f]{12}…\) then, random weights now/);

  // Exact and fast preprocessing give other pixels: their rows do not mix either.
  const fast = run([...withA, '--fast-resize'], dir);
  assert.equal(fast.status, 1);
  assert.match(fast.stderr, /preprocessing: \{[^}]*\} then, \{[^}]*"fastResize":true\} now/);

  const resumed = run(withA, dir);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming, [1-7] of 8 images already done/);
  assert.equal(readManifest(out).rows.length, 8);

  const again = run(withA, dir);
  assert.equal(again.status, 0);
  assert.match(again.stderr, /out is already complete \(8 images\)/);
  writeFileSync(join(dir, 'images', 'img-99.png'), readFileSync(join(dir, 'images', 'img-00.png')));
  const more = run(withA, dir);
  assert.equal(more.status, 1);
  assert.match(more.stderr, /out is complete for another input list \(inputs: 8 images .* then, 9 images .* now\)/);
});

test('merge takes shards 0..N-1 of one job once each, and its files equal the unsharded run byte for byte', async () => {
  const dir = await imageFolder(5);
  for (const format of ['npy', 'safetensors']) {
    const args = (out: string, ...more: string[]): string[] => [
      'extract',
      MODEL,
      '--nodes',
      'features.1=early,features.3',
      '--batch',
      '2',
      '--format',
      format,
      '--out',
      out,
      ...more,
      'images',
    ];
    for (const [out, more] of [
      [`${format}-all`, []],
      [`${format}-s0`, ['--shard', '0/2']],
      [`${format}-s1`, ['--shard', '1/2']],
    ] as const) {
      const r = run(args(out, ...more), dir);
      assert.equal(r.status, 0, r.stderr);
    }
    const merged = run(['merge', `${format}-s1`, `${format}-s0`, '--out', `${format}-merged`], dir);
    assert.equal(merged.status, 0, merged.stderr);
    const files = format === 'npy' ? ['early.npy', 'features.3.npy'] : ['features.safetensors'];
    assert.deepEqual(readdirSync(join(dir, `${format}-merged`)).sort(), [...files, 'manifest.json']);
    for (const file of files) {
      const unsharded = readFileSync(join(dir, `${format}-all`, file));
      assert.ok(unsharded.equals(readFileSync(join(dir, `${format}-merged`, file))), `${format}: ${file}`);
    }
    assert.deepEqual(readManifest(join(dir, `${format}-merged`)).rows, readManifest(join(dir, `${format}-all`)).rows);
  }

  const twice = run(['merge', 'npy-s0', 'npy-s0', '--out', 'bad'], dir);
  assert.equal(twice.status, 1);
  assert.match(twice.stderr, /shard 0\/2 is given twice: npy-s0 and npy-s0/);
  const missing = run(['merge', 'npy-s0', '--out', 'bad'], dir);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /shard 1\/2 missing: merge needs all 2 shards/);
  const mixed = run(['merge', 'npy-s0', 'safetensors-s1', '--out', 'bad'], dir);
  assert.equal(mixed.status, 1);
  assert.match(mixed.stderr, /safetensors-s1 is a shard of another job than npy-s0: format: npy then, safetensors now/);
  const third = run(
    ['extract', MODEL, '--nodes', 'features.1=early,features.3', '--shard', '2/3', '--out', 'third', 'images'],
    dir,
  );
  assert.equal(third.status, 0, third.stderr);
  const split = run(['merge', 'npy-s0', 'npy-s1', 'third', '--out', 'bad'], dir);
  assert.equal(split.status, 1);
  assert.match(split.stderr, /third is shard 2\/3 but npy-s0 is shard 0\/2: merge the shards of one split/);
  assert.ok(!existsSync(join(dir, 'bad')));

  // More shards than images: shard 5/6 of five images holds none, and says so without building the model.
  const empty = run(['extract', MODEL, '--nodes', 'features.1', '--shard', '5/6', '--out', 'empty', 'images'], dir);
  assert.equal(empty.status, 0, empty.stderr);
  assert.match(empty.stderr, /0 images, 0 skipped; wrote manifest\.json in empty\n/);
  assert.doesNotMatch(empty.stderr, /random weights/);
  assert.deepEqual(readdirSync(join(dir, 'empty')), ['manifest.json']);
  assert.equal(readManifest(join(dir, 'empty')).complete, true);
});

test('a full disk at the final step says so and leaves the run resumable', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to mount a small tmpfs');
  const dir = await imageFolder(4);
  const disk = join(dir, 'disk');
  mkdirSync(disk);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=5m', 'tmpfs', disk]);
  } catch {
    return t.skip('cannot mount a tmpfs here');
  }
  try {
    // features.0 is 16×112×112 float32, 0.8 MB an image: the four parts fit in 5 MB, parts and
    // final array together do not.
    const args = ['extract', MODEL, '--nodes', 'features.0', '--batch', '1', '--out', join(disk, 'out'), 'images'];
    const full = run(args, dir);
    assert.equal(full.status, 1, full.stderr);
    assert.match(full.stderr, /the disk holding \S*out is full \(ENOSPC.*\); free some space and run the same/);
    assert.match(full.stderr, /command again: the 4 images done so far are kept/);
    const m = readManifest(join(disk, 'out'));
    assert.equal(m.complete, false);
    assert.equal(m.rows.length, 4);
    assert.deepEqual(readdirSync(join(disk, 'out')).sort(), ['.featurefx-work', 'manifest.json']);
    execFileSync('mount', ['-o', 'remount,size=20m', disk]);
    const resumed = run(args, dir);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming, 4 of 4 images already done/);
    assert.deepEqual(readdirSync(join(disk, 'out')).sort(), ['features.0.npy', 'manifest.json']);
  } finally {
    execFileSync('umount', [disk]);
  }
});

test('the input walk skips and records links to nothing, link loops, FIFOs and unreadable entries; no images is an error', async () => {
  const dir = await imageFolder(2);
  const images = join(dir, 'images');
  mkdirSync(join(images, 'sub'));
  writeFileSync(join(images, 'sub', 'img-02.png'), readFileSync(join(images, 'img-00.png')));
  symlinkSync('missing.png', join(images, 'dangling.png'));
  symlinkSync('.', join(images, 'self'));
  symlinkSync('loop-b.png', join(images, 'loop-a.png'));
  symlinkSync('loop-a.png', join(images, 'loop-b.png'));
  execFileSync('mkfifo', [join(images, 'b.png')]);
  // Unreadable entries: as root, permissions do not stop reads, so the command runs as nobody.
  mkdirSync(join(images, 'locked'));
  writeFileSync(join(images, 'locked', 'img-03.png'), readFileSync(join(images, 'img-00.png')));
  writeFileSync(join(images, 'secret.png'), readFileSync(join(images, 'img-00.png')));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chmodSync(dir, 0o755);
    chownSync(dir, 65534, 65534); // nobody writes the output here
  }
  chmodSync(join(images, 'locked'), 0o000);
  chmodSync(join(images, 'secret.png'), 0o000);
  const r = run(extract('out'), dir, asRoot ? { uid: 65534, gid: 65534 } : {});
  assert.equal(r.status, 0, r.stderr);
  const m = readManifest(join(dir, 'out'));
  assert.deepEqual(
    m.rows.map((p) => p.slice(images.length + 1)),
    ['img-00.png', 'img-01.png', 'sub/img-02.png'],
  );
  const reasons = Object.fromEntries(m.skipped.map((s) => [s.path.slice(images.length + 1), s.reason]));
  assert.deepEqual(reasons, {
    'b.png': 'a FIFO, not an image file',
    'dangling.png': 'a symbolic link to nothing (dangling)',
    locked: 'permission denied',
    'loop-a.png': 'a symbolic link loop',
    'loop-b.png': 'a symbolic link loop',
    'secret.png': 'permission denied',
    self: `a link to ${images}, which is walked already (a loop or a second link)`,
  });
  assert.match(r.stderr, /skipping \S*secret\.png: permission denied/);

  mkdirSync(join(dir, 'empty'));
  writeFileSync(join(dir, 'empty', 'notes.txt'), 'no images here');
  const none = run(['extract', MODEL, '--nodes', 'features.1', '--out', 'none', 'empty'], dir);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no images found in empty; image files end in \.jpg, \.jpeg, \.png/);
  assert.ok(!existsSync(join(dir, 'none')));
});

test('a damaged manifest is named with its fix; a FIFO as weights, --leaf toString, --shard 1/2/3 and --shard /2 are refused', async () => {
  const dir = await imageFolder(1);
  mkdirSync(join(dir, 'out'));
  writeFileSync(join(dir, 'out', 'manifest.json'), '{"featurefx": 2, "job": {');
  const damaged = run(extract('out'), dir);
  assert.equal(damaged.status, 1);
  assert.match(damaged.stderr, /out\/manifest\.json is damaged \(.*JSON.*\), so the run in out can be neither/);
  assert.match(damaged.stderr, /resumed nor merged; remove out and run the extract command again/);
  const merge = run(['merge', 'out', '--out', 'merged'], dir);
  assert.match(merge.stderr, /out\/manifest\.json is damaged/);

  for (const name of ['toString', 'constructor']) {
    const r = run(['nodes', 'resnet18', '--leaf', name], dir);
    assert.equal(r.status, 1, name);
    assert.match(r.stderr, new RegExp(`--leaf: unknown module class '${name}'`));
  }
  const shard = run(extract('sharded', '--shard', '1/2/3'), dir);
  assert.equal(shard.status, 1);
  assert.match(shard.stderr, /invalid --shard '1\/2\/3'.*expected K\/N/);
  for (const spec of ['/2', '1/', '2/2', '0x1/2', ' 1/2', '1/0']) {
    assert.throws(
      () => parseShard(spec),
      (e: unknown) => e instanceof RangeError && e.message.startsWith(`invalid --shard '${spec}'`),
      spec,
    );
  }
  assert.deepEqual(parseShard('1/2'), { index: 1, count: 2 });
  // The weights digest of the job definition reads the file as the loaders do: a FIFO is refused, not waited on.
  execFileSync('mkfifo', [join(dir, 'weights.pth')]);
  const fifo = run(extract('fifo', '--weights', 'weights.pth'), dir);
  assert.equal(fifo.status, 1);
  assert.match(fifo.stderr, /cannot read weights file 'weights\.pth': it is not a regular file/);
  rmSync(join(dir, 'out'), { recursive: true });
  assert.ok(!existsSync(join(dir, 'sharded')));
});
