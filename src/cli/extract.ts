/** `featurefx extract`: features of many images, batched, resumable, shardable. */
import { compile } from '../fx/compile.js';
import { stack } from '../ops/cat.js';
import type { Tensor } from '../tensor/tensor.js';
import { IMAGE_EXTENSIONS, loadImage } from './images.js';
import { walkInputs } from './input-walk.js';
import { inputsRecord, weightsRecord } from './job-definition.js';
import { buildExtractor, classifierEntry, loadModel, parseNodes } from './model-setup.js';
import { checkFileNames } from './output-keys.js';
import { OutputStore } from './output-store.js';
import { Progress } from './progress.js';
import { parseShard } from './shard.js';

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

export async function extract(modelName: string, inputs: string[], options: ExtractOptions): Promise<void> {
  // Everything that can be refused from the arguments alone is, before any file is read or written.
  const shard = parseShard(options.shard);
  const nodes = parseNodes(options.nodes);
  checkFileNames(Object.values(nodes));
  const entry = classifierEntry(modelName);
  const walk = walkInputs(inputs);
  for (const { path, reason } of walk.skipped) process.stderr.write(`featurefx: skipping ${path}: ${reason}\n`);
  if (walk.files.length === 0) {
    throw new Error(
      `no images found in ${inputs.join(', ')}` +
        (walk.skipped.length > 0 ? ` (${walk.skipped.length} skipped, see above)` : '') +
        `; image files end in ${[...IMAGE_EXTENSIONS].join(', ')}`,
    );
  }
  const mine = shard === undefined ? walk.files : walk.files.filter((_, i) => i % shard.count === shard.index);
  const store = OutputStore.open(
    options.out,
    {
      model: modelName,
      nodes,
      weights: weightsRecord(options.weights),
      preprocessing: entry.transform,
      inputs: inputsRecord(walk.files),
      shard: shard ?? null,
      format: options.format,
    },
    walk.skipped,
  );
  try {
    await run(store, modelName, mine, options);
  } finally {
    store.close();
  }
}

async function run(store: OutputStore, modelName: string, mine: string[], options: ExtractOptions): Promise<void> {
  if (store.manifest.complete) {
    process.stderr.write(`featurefx: ${options.out} is already complete (${store.manifest.rows.length} images)\n`);
    return;
  }
  const done = store.done();
  const todo = mine.filter((p) => !done.has(p));
  if (todo.length < mine.length)
    process.stderr.write(`featurefx: resuming, ${mine.length - todo.length} of ${mine.length} images already done\n`);
  // A shard may hold no images (more shards than images): it still gets its manifest, for merge.
  if (todo.length > 0) await extractImages(store, modelName, todo, options);
  const written = new Intl.ListFormat('en').format([...store.finish(), 'manifest.json']);
  process.stderr.write(
    `featurefx: ${store.manifest.rows.length} images, ${store.manifest.skipped.length} skipped; wrote ${written} in ${options.out}\n`,
  );
}

/** Decodes, batches and runs `todo` through the compiled extractor, adding each batch to the store. */
async function extractImages(
  store: OutputStore,
  modelName: string,
  todo: string[],
  options: ExtractOptions,
): Promise<void> {
  const { model, preset } = loadModel(modelName, options.weights);
  const compiled = compile(buildExtractor(model, options.nodes));
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
}
