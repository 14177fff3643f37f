/**
 * Every `npx featurefx ...` line of README.md's ```sh blocks runs, read from the README at test
 * time, as the built command (dist/cli/main.js, which `npm test` builds) in a fresh folder holding
 * the inputs the line names (doc-inputs.ts: three photos, a resnet50 checkpoint, the sample image).
 *
 * One placeholder is expanded, by this rule: in a `merge` line, `partA/ partB/ ...` stands for every
 * shard folder of the block's `extract ... --shard K/N --out partK/` line, which is first run once
 * for each K in 0..N-1 in the same folder, as N workers would, so that merge joins all of them.
 * A `serve` line runs until stopped: it is started, its page and model list fetched, then stopped.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { codeBlocks } from './code-blocks.js';
import { REPO, makeDocInputs } from './doc-inputs.js';

const MAIN = join(REPO, 'dist', 'cli', 'main.js');

interface Command {
  line: number;
  text: string;
  args: string[];
}

/** The `npx featurefx` command lines of a shell block: continuations joined, comments dropped. */
function featurefxCommands(code: string, fenceLine: number): Command[] {
  const commands: Command[] = [];
  const lines = code.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = fenceLine + 1 + i;
    let text = lines[i]!;
    while (text.endsWith('\\') && i + 1 < lines.length) text = text.slice(0, -1) + lines[++i]!;
    const words = text
      .replace(/\s#.*$/, '')
      .trim()
      .split(/\s+/);
    if (words[0] !== 'npx' || words[1] !== 'featurefx') continue;
    // The arguments are passed as they are: a line needing a shell's quoting or globbing would need one here.
    assert.doesNotMatch(text.replace(/\s#.*$/, ''), /['"$*?|&;<>`]/, `README.md:${line} needs a shell: ${text}`);
    commands.push({ line, text: text.trim(), args: words.slice(2) });
  }
  return commands;
}

/** Runs the command and returns what it printed on stderr (its notices and progress). */
function run(args: string[], cwd: string, where: string): string {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `${where}: featurefx ${args.join(' ')} exited with ${r.status}:\n${r.stderr}`);
  return r.stderr;
}

/**
 * Starts a `serve` line, fetches the page and the model list from the URL it prints, and stops it
 * (the port is replaced by a free one, so that the test never meets a busy 8080).
 */
async function runServer(args: string[], cwd: string, where: string): Promise<void> {
  const port = args.indexOf('--port');
  const freePort = port < 0 ? [...args, '--port', '0'] : args.map((a, i) => (i === port + 1 ? '0' : a));
  const child = spawn(process.execPath, [MAIN, ...freePort], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let printed = '';
    const url = await new Promise<string>((resolve, reject) => {
      const read = (chunk: Buffer): void => {
        printed += String(chunk);
        const found = /serving (http:\/\/\S+\/)/.exec(printed);
        if (found !== null) resolve(found[1]!);
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
      child.on('exit', (code) =>
        reject(new Error(`${where}: featurefx ${args.join(' ')} exited with ${code}:\n${printed}`)),
      );
    });
    assert.match(await (await fetch(url)).text(), /<title>/, `${where}: the page`);
    const models = (await (await fetch(`${url}api/models`)).json()) as { zoo: { name: string; weights: string }[] };
    assert.ok(
      models.zoo.some((m) => m.name === 'resnet50'),
      `${where}: the zoo is listed`,
    );
    // A model given a checkpoint is served with it.
    const [name, file] = option(args, '--weights')?.split('=') ?? [];
    if (name !== undefined) assert.equal(models.zoo.find((m) => m.name === name)?.weights, file, where);
  } finally {
    child.kill('SIGTERM');
  }
}

const option = (args: string[], name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};

/** `merge part0/ part1/ ... --out x`: the shard folders of `shardCommand`, each made by running it. */
async function makeShards(shardCommand: Command | undefined, cwd: string, where: string): Promise<string[]> {
  assert.ok(shardCommand !== undefined, `${where}: '...' in merge needs an extract --shard K/N line in its block`);
  await makeDocInputs(shardCommand.text, cwd);
  const [k, n] = option(shardCommand.args, '--shard')!.split('/');
  const out = option(shardCommand.args, '--out')!;
  assert.ok(out.includes(k!), `README.md:${shardCommand.line}: --out ${out} should name shard ${k}`);
  const folders: string[] = [];
  for (let worker = 0; worker < Number(n); worker++) {
    const folder = out.replace(k!, String(worker));
    const args = shardCommand.args.map((a) => (a === out ? folder : a === `${k}/${n}` ? `${worker}/${n}` : a));
    run(args, cwd, `README.md:${shardCommand.line} as worker ${worker}`);
    folders.push(folder);
  }
  return folders;
}

/** Images the command's inputs hold (photos/ has three; no input means the bundled sample image). */
function imageCount(args: string[]): number {
  return args.includes('photos/') ? 3 : 1;
}

const blocks = codeBlocks(join(REPO, 'README.md')).filter((b) => b.lang === 'sh');
const commands = blocks.flatMap((b) => featurefxCommands(b.code, b.line).map((c) => ({ ...c, block: b })));

test('the README shows featurefx command lines', () => {
  assert.ok(commands.length >= 6, `found ${commands.length}`);
});

for (const c of commands) {
  test(`README.md:${c.line} runs: ${c.text.slice(0, 70)}`, async (t) => {
    const where = `README.md:${c.line}`;
    const cwd = mkdtempSync(join(tmpdir(), 'featurefx-readme-cli-'));
    // A stand-in checkpoint is 100 MB.
    t.after(() => rmSync(cwd, { recursive: true, force: true }));
    await makeDocInputs(c.text, cwd);
    let args = c.args;
    const shardCommand = featurefxCommands(c.block.code, c.block.line).find((s) => s.args.includes('--shard'));
    if (args[0] === 'merge' && args.includes('...')) {
      const folders = await makeShards(shardCommand, cwd, where);
      const listed = args.slice(1, args.indexOf('...'));
      assert.deepEqual(listed, folders.slice(0, listed.length), `${where}: the folders before '...'`);
      args = ['merge', ...folders, ...args.slice(args.indexOf('...') + 1)];
    }
    if (args[0] === 'serve') return runServer(args, cwd, where);
    const notices = run(args, cwd, where);
    // The checkpoint a line names is the one it runs with.
    if (args.includes('--weights')) assert.doesNotMatch(notices, /random weights/, where);
    const out = option(args, '--out') ?? (args[0] === 'extract' ? 'features' : undefined);
    if (out !== undefined) assert.ok(existsSync(join(cwd, out)), `${where}: ${out} was not written`);
    // A whole run, or the merge of all shards, lists every image it was given (merge: its shards' inputs).
    if ((args[0] === 'extract' && !args.includes('--shard')) || args[0] === 'merge') {
      const manifest = JSON.parse(readFileSync(join(cwd, out!, 'manifest.json'), 'utf8')) as { rows: string[] };
      assert.equal(manifest.rows.length, imageCount(args[0] === 'merge' ? (shardCommand?.args ?? []) : args), where);
    }
  });
}
