/** `featurefx extract`: features of many images, batched, resumable, shardable. */
import { compile } from '../fx/compile.js';
import { stack } from '../ops/cat.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadImage, listInputs } from './images.js';
import { buildExtractor, loadModel, parseNodes } from './model-setup.js';
import { OutputStore } from './output-store.js';
import { Progress } from './progress.js';

/** An image of a batch: decoded, or the reason it is skipped. */
interface Decoded {
  path: string;
  image?: Tensor;
  reason?: string;
}

export interface ExtractOptions {
  nodes: string;
  weights?: string;
  batch: number;
  format: 'npy' | 'safetensors';
  shard?: string;
  out: string;
}

/** `K/N` (K from JOB_COMPLETION_INDEX when only `N` or nothing is given and the variable is set). */
export function parseShard(spec: string | undefined): { index: number; count: number } | undefined {
  const fromEnv = process.env.JOB_COMPLETION_INDEX;
  if (spec === undefined && fromEnv === undefined) return undefined;
  const [k, n] = (spec ?? '').includes('/') ? spec!.split('/') : [fromEnv, spec];
  const index = Number(k);
  const count = Number(n);
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new Error(
      `invalid --shard '${spec ?? ''}' (JOB_COMPLETION_INDEX=${fromEnv ?? 'unset'}): expected K/N with 0 <= K < N`,
    );
  }
  return { index, count };
}

export async function extract(modelName: string, inputs: string[], options: ExtractOptions): Promise<void> {
  const shard = parseShard(options.shard);
  const all = listInputs(inputs);
  const mine = shard === undefined ? all : all.filter((_, i) => i % shard.count === shard.index);
  const { model, preset } = loadModel(modelName, options.weights);
  const nodes = parseNodes(options.nodes);
  const extractor = buildExtractor(model, options.nodes);
  const compiled = compile(extractor);
  const store = new OutputStore(options.out, {
    model: modelName,
    nodes,
    format: options.format,
    shard: shard === undefined ? null : `${shard.index}/${shard.count}`,
  });
  if (store.manifest.complete) {
    process.stderr.write(`featurefx: ${options.out} is already complete (${store.manifest.rows.length} images)\n`);
    return;
  }
  const done = store.done();
  const todo = mine.filter((p) => !done.has(p));
  if (done.size > 0) process.stderr.write(`featurefx: resuming, ${done.size} of ${mine.length} images already done\n`);
  const progress = new Progress(todo.length);
  // A batch's images decode concurrently (sharp works on libuv's threads), and the next batch
  // decodes while the current one runs through the model.
  const decode = (paths: string[]): Promise<Decoded[]> =>
    Promise.all(
      paths.map((path) =>
        loadImage(path, preset).then(
          (image): Decoded => ({ path, image }),
          (e: unknown): Decoded => ({ path, reason: e instanceof Error ? e.message : String(e) }),
        ),
      ),
    );
  const batches: string[][] = [];
  for (let start = 0; start < todo.length; start += options.batch)
    batches.push(todo.slice(start, start + options.batch));
  let next = batches.length > 0 ? decode(batches[0]!) : undefined;
  for (let b = 0; b < batches.length; b++) {
    const decoded = await next!;
    next = b + 1 < batches.length ? decode(batches[b + 1]!) : undefined;
    const loaded = decoded.filter((d): d is Decoded & { image: Tensor } => d.image !== undefined);
    const skipped = decoded.flatMap((d) => (d.reason === undefined ? [] : [{ path: d.path, reason: d.reason }]));
    for (const { path, reason } of skipped) process.stderr.write(`featurefx: skipping ${path}: ${reason}\n`);
    const outputs =
      loaded.length === 0
        ? {}
        : (compiled.call(
            stack(
              loaded.map((l) => l.image),
              0,
            ),
          ) as Record<string, Tensor>);
    store.addBatch(
      loaded.map((l) => l.path),
      outputs,
      skipped,
    );
    progress.advance(batches[b]!.length);
  }
  progress.stop();
  const written = store.finish(Object.values(nodes));
  process.stderr.write(
    `featurefx: ${store.manifest.rows.length} images, ${store.manifest.skipped.length} skipped; wrote ${written.join(', ')} and manifest.json in ${options.out}\n`,
  );
}
