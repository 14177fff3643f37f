import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import type { SkippedPath } from '../../src/cli/input-walk.js';
import {
  type PipelineEvent,
  type PipelineOptions,
  StageFailure,
  defaultBatch,
  defaultWorkers,
  runPipeline,
} from '../../src/cli/extract-pipeline.js';
import { FileWriter } from '../../src/cli/file-writer.js';
import { ImagePool } from '../../src/cli/image-pool.js';
import { type Preset, preprocessImage } from '../../src/cli/images.js';

const PATHS = Array.from({ length: 11 }, (_, i) => `img-${i}.jpg`);

/** A load that finishes in a later turn of the event loop, as sharp's work on libuv's threads does. */
function load(path: string): Promise<string> {
  return new Promise((resolve, reject) =>
    setImmediate(() => (path.includes('bad') ? reject(new Error(`${path}: corrupt`)) : resolve(path.toUpperCase()))),
  );
}

interface Written {
  paths: string[];
  outputs: string[] | undefined;
  skipped: SkippedPath[];
}

async function extractAll(
  paths: readonly string[],
  options: PipelineOptions,
  loader: (path: string) => Promise<string> = load,
): Promise<{ writes: Written[]; events: PipelineEvent[] }> {
  const writes: Written[] = [];
  const events: PipelineEvent[] = [];
  await runPipeline(paths, options, {
    load: loader,
    start: () => ({
      run: (items) => items.map((item) => `features of ${item}`),
      write: (p, outputs, skipped) => {
        writes.push({ paths: p, outputs, skipped });
      },
    }),
    onEvent: (e) => events.push(e),
  });
  return { writes, events };
}

test('the images of the next two batches are loading before a batch runs, and no more', async () => {
  const { events } = await extractAll(PATHS, { batch: 2 });
  for (const [at, event] of events.entries()) {
    if (event.kind !== 'run-start') continue;
    const started = events.slice(0, at).filter((e) => e.kind === 'load-start').length;
    assert.equal(started, Math.min(PATHS.length, 2 * (event.batch + 1) + 4), `before batch ${event.batch} runs`);
  }
  // The model's turn waits for nothing it does not need: batch 0 runs as soon as its images are in.
  const firstRun = events.findIndex((e) => e.kind === 'run-start');
  assert.deepEqual(
    events
      .slice(0, firstRun)
      .filter((e) => e.kind === 'load-end')
      .map((e) => e.kind === 'load-end' && e.index)
      .slice(0, 2),
    [0, 1],
  );
});

test('the model is built once the first images are loading', async () => {
  const order: string[] = [];
  await runPipeline(
    ['a.jpg', 'b.jpg'],
    { batch: 1 },
    {
      load: (path) => (order.push(`load ${path}`), load(path)),
      start: () => (
        order.push('start'),
        { run: (items) => items, write: (paths) => order.push(`write ${paths.join()}`) }
      ),
    },
  );
  assert.deepEqual(order, ['load a.jpg', 'load b.jpg', 'start', 'write a.jpg', 'write b.jpg']);
});

test('outputs are the same and in input order whatever the batch and look-ahead', async () => {
  const paths = [...PATHS.slice(0, 4), 'bad-4.jpg', ...PATHS.slice(5)];
  const flatten = (writes: Written[]) => ({
    rows: writes.flatMap((w) => w.paths),
    outputs: writes.flatMap((w) => w.outputs ?? []),
    skipped: writes.flatMap((w) => w.skipped),
  });
  const reference = flatten((await extractAll(paths, { batch: 1, ahead: 1 })).writes);
  assert.deepEqual(
    reference.rows,
    paths.filter((p) => p !== 'bad-4.jpg'),
  );
  assert.deepEqual(
    reference.outputs,
    reference.rows.map((p) => `features of ${p.toUpperCase()}`),
  );
  assert.deepEqual(reference.skipped, [{ path: 'bad-4.jpg', reason: 'bad-4.jpg: corrupt' }]);
  for (const options of [{ batch: 3 }, { batch: 4, ahead: 5 }, { batch: 5, ahead: 2 }, { batch: 16 }]) {
    const { writes } = await extractAll(paths, options);
    assert.deepEqual(flatten(writes), reference, JSON.stringify(options));
    // Each batch is written once, in order, with the bad image in the batch it belongs to.
    assert.deepEqual(
      writes.map((w) => w.paths.length + w.skipped.length),
      Array.from({ length: Math.ceil(paths.length / options.batch) }, (_, b) =>
        Math.min(options.batch, paths.length - b * options.batch),
      ),
    );
  }
});

test('a batch whose every image is skipped is written without running the model', async () => {
  const { writes, events } = await extractAll(['bad-0.jpg', 'bad-1.jpg', 'c.jpg'], { batch: 2 });
  assert.deepEqual(writes[0], {
    paths: [],
    outputs: undefined,
    skipped: [
      { path: 'bad-0.jpg', reason: 'bad-0.jpg: corrupt' },
      { path: 'bad-1.jpg', reason: 'bad-1.jpg: corrupt' },
    ],
  });
  assert.deepEqual(
    events.filter((e) => e.kind === 'run-start'),
    [{ kind: 'run-start', batch: 1 }],
  );
});

test('a load that throws instead of rejecting skips its image', async () => {
  const { writes } = await extractAll(['a.jpg', 'b.jpg'], { batch: 2 }, (path) => {
    if (path === 'a.jpg') throw new TypeError('unsupported image format');
    return load(path);
  });
  assert.deepEqual(writes, [
    {
      paths: ['b.jpg'],
      outputs: ['features of B.JPG'],
      skipped: [{ path: 'a.jpg', reason: 'unsupported image format' }],
    },
  ]);
});

test('an error of the model or of the output stops the run', async () => {
  await assert.rejects(
    runPipeline(
      PATHS,
      { batch: 2 },
      {
        load,
        start: () => ({
          run: () => 0,
          write: () => {
            throw new Error('the disk is full');
          },
        }),
      },
    ),
    /the disk is full/,
  );
});

test('the default batch follows the cores: 8 per core, 8 to 32; image workers: half the cores, 1 to 8', () => {
  assert.deepEqual([1, 2, 3, 4, 64].map(defaultBatch), [8, 16, 24, 32, 32]);
  assert.deepEqual([1, 2, 3, 4, 64].map(defaultWorkers), [1, 1, 2, 2, 8]);
});

const PHOTOS = join(import.meta.dirname, '..', 'fixtures', 'preprocess');
const RESNET: Preset = { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' };

test("image workers give the JS thread's preprocessing, exact and fast; an image that fails is rejected with its own error", async () => {
  const notImage = join(mkdtempSync(join(tmpdir(), 'featurefx-pool-')), 'notes.jpg');
  writeFileSync(notImage, 'not an image');
  for (const preset of [RESNET, { ...RESNET, fastResize: true, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }]) {
    const pool = new ImagePool(1, preset);
    try {
      const paths = ['chelsea.jpg', 'rocket.jpg'].map((name) => join(PHOTOS, name));
      const fromWorkers = await Promise.all(paths.map((path) => pool.load(path)));
      for (const [i, path] of paths.entries()) assert.deepEqual(fromWorkers[i], await preprocessImage(path, preset));
      const own = await preprocessImage(notImage, preset).then(
        () => assert.fail('a text file decoded'),
        (e: Error) => e.message,
      );
      await assert.rejects(pool.load(notImage), (e: Error) => !(e instanceof StageFailure) && e.message === own);
    } finally {
      await pool.close();
    }
  }
});

test('a worker that stops fails its loads and every later one with a StageFailure, which stops the pipeline', async () => {
  const crashing = join(mkdtempSync(join(tmpdir(), 'featurefx-pool-')), 'crashing-worker.mjs');
  writeFileSync(
    crashing,
    "import { parentPort } from 'node:worker_threads';\n" +
      "parentPort.on('message', () => { throw new Error('out of luck'); });\n",
  );
  const pool = new ImagePool(1, RESNET, pathToFileURL(crashing));
  const stopped = {
    name: 'StageFailure',
    message:
      'an image worker stopped (out of luck) while preprocessing a.jpg, b.jpg; the images written so far are kept: ' +
      'run the same command again to resume',
  };
  try {
    await Promise.all([assert.rejects(pool.load('a.jpg'), stopped), assert.rejects(pool.load('b.jpg'), stopped)]);
    await assert.rejects(pool.load('c.jpg'), stopped);
  } finally {
    await pool.close();
  }
  // Through the pipeline: nothing of the failed batch is written, not even as skipped.
  const writes: string[][] = [];
  await assert.rejects(
    runPipeline(
      PATHS,
      { batch: 2 },
      {
        load: (path) => (path === 'img-3.jpg' ? Promise.reject(new StageFailure('stopped')) : load(path)),
        start: () => ({ run: (items) => items, write: (paths) => void writes.push(paths) }),
      },
    ),
    { name: 'StageFailure', message: 'stopped' },
  );
  assert.deepEqual(writes, [['img-0.jpg', 'img-1.jpg']]);
});

test("a batch's asynchronous write goes on during the next run, and the run after it waits for the write", async () => {
  const order: string[] = [];
  const finishWrite: (() => void)[] = [];
  const pipeline = runPipeline(
    PATHS.slice(0, 6),
    { batch: 2 },
    {
      load,
      start: () => ({
        run: (items) => (order.push(`run ${items.join()}`), items),
        write: (paths) =>
          new Promise<void>((resolve) => {
            order.push(`write ${paths.join()}`);
            finishWrite.push(() => (order.push(`written ${paths.join()}`), resolve()));
          }),
      }),
    },
  );
  // The writes finish only when the test says so, a few turns of the event loop after each starts.
  const written = (async () => {
    for (let i = 0; i < 3; i++) {
      while (finishWrite.length === 0) await new Promise((r) => setTimeout(r, 5));
      finishWrite.shift()!();
    }
  })();
  await Promise.all([pipeline, written]);
  assert.deepEqual(order, [
    'run IMG-0.JPG,IMG-1.JPG',
    'write img-0.jpg,img-1.jpg',
    'run IMG-2.JPG,IMG-3.JPG',
    'written img-0.jpg,img-1.jpg',
    'write img-2.jpg,img-3.jpg',
    'run IMG-4.JPG,IMG-5.JPG',
    'written img-2.jpg,img-3.jpg',
    'write img-4.jpg,img-5.jpg',
    'written img-4.jpg,img-5.jpg',
  ]);
});

test("the file writer writes bytes and text durably in order, and passes a failed write's error code on", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-writer-'));
  const writer = new FileWriter();
  try {
    await Promise.all([
      writer.write(join(dir, 'a.npy'), Uint8Array.from([1, 2, 3]), join(dir, 'a.tmp')),
      writer.write(join(dir, 'manifest.json'), '{}', join(dir, 'm.tmp')),
    ]);
    assert.deepEqual([...readFileSync(join(dir, 'a.npy'))], [1, 2, 3]);
    assert.equal(readFileSync(join(dir, 'manifest.json'), 'utf8'), '{}');
    // The output store tells a full disk by the code (ENOSPC); here, a missing folder.
    await assert.rejects(writer.write(join(dir, 'gone', 'b.npy'), 'x', join(dir, 'gone', 'b.tmp')), {
      code: 'ENOENT',
      message: /no such file or directory/,
    });
  } finally {
    await writer.close();
  }
});
