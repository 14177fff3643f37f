/**
 * `featurefx serve` as a subprocess (src/ under tsx, with a stand-in page): the URL line, an answer,
 * a clean stop on SIGTERM, a port in use; and, in this process, the arguments refused at start.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { serve } from '../../src/cli/serve.js';
import { OnnxFormatError } from '../../src/errors.js';
import { send, standInPage } from './serve-helpers.js';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
const DENSENET = join(import.meta.dirname, '..', 'fixtures', 'onnx', 'densenet.onnx');
const page = standInPage();
const work = mkdtempSync(join(tmpdir(), 'featurefx-serve-cli-'));
after(() => {
  rmSync(page, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const command = (args: string[]): string[] => ['--import', 'tsx', MAIN, 'serve', '--page-dir', page, ...args];

/** Runs a serve command expected to stop at start (in this file: a port in use); its exit code and stderr. */
function refused(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, command(args), { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr };
}

/** The first line the server prints. */
function firstLine(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
  });
}

test('serve --port 0 prints its URL, answers, refuses what it must at start, and stops on SIGTERM', async () => {
  const child = spawn(process.execPath, command(['--port', '0', DENSENET]));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const line = await firstLine(child);
    const match = /^featurefx: serving (http:\/\/127\.0\.0\.1:(\d+)\/) \(Ctrl-C to stop\)$/.exec(line);
    assert.ok(match, line);
    const [, url, port] = match;
    const models = await send(url!, '/api/models');
    assert.equal(models.status, 200);
    assert.deepEqual((JSON.parse(models.body.toString()) as { files: unknown }).files, [
      { name: 'densenet.onnx', url: 'api/files/0/densenet.onnx' },
    ]);

    const inUse = refused(['--port', port!]);
    assert.equal(inUse.status, 1);
    assert.equal(
      inUse.stderr,
      `featurefx: error: port ${port} is in use; pass --port 0 for a free one or another port\n`,
    );
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, 'a clean stop');
});

test('serve refuses a file that is not ONNX, and bad --weights, before listening', async () => {
  const options = { port: 0, host: '127.0.0.1', pageDir: page };
  const notes = join(work, 'notes.onnx');
  writeFileSync(notes, 'not a model');
  await assert.rejects(serve([notes], { ...options, weights: [] }), (e: unknown) => {
    assert.ok(e instanceof OnnxFormatError);
    assert.match(e.message, new RegExp(`^Load model from '${notes}' failed: protobuf parsing failed`));
    return true;
  });
  await assert.rejects(serve([join(work, 'missing.onnx')], { ...options, weights: [] }), /cannot read it \(ENOENT/);
  for (const [spec, message] of [
    ['resnet18', "--weights takes NAME=FILE, e.g. resnet18=resnet18-f37072fd.pth, got 'resnet18'"],
    ['resnet18=', "--weights takes NAME=FILE, e.g. resnet18=resnet18-f37072fd.pth, got 'resnet18='"],
    [`resnet18=${work}`, `--weights resnet18=${work}: '${work}' is not a file; give a .pth or .safetensors file`],
    [`resnet19=${notes}`, /^unknown model 'resnet19'\. Closest: resnet18/],
  ] as const)
    await assert.rejects(serve([], { ...options, weights: [spec] }), {
      name: 'RangeError',
      message: message,
    });
  await assert.rejects(serve([], { ...options, weights: [`resnet18=${notes}`, `resnet18=${notes}`] }), {
    message: '--weights gives resnet18 two files; give it one',
  });
});
