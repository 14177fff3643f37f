/** `featurefx extract`: features of many images, batched, resumable, shardable. */
import { compile } from '../fx/compile.js';
import { stack } from '../ops/cat.js';
import type { Tensor } from '../tensor/tensor.js';
import { IMAGE_EXTENSIONS, type Preset, loadImage } from './images.js';
import { walkInputs } from './input-walk.js';
import { runPipeline } from './extract-pipeline.js';
import { inputsRecord, weightsRecord } from './job-definition.js';
import { buildExtractor, classifierEntry, loadModel, parseNodes } from './model-setup.js';
import { checkFileNames } from './output-keys.js';
import { OutputStore } from './output-store.js';
import { Progress } from './progress.js';
import { parseShard } from './shard.js';

export interface ExtractOptions {
  nodes: string;
  weights?: string;
  /** Images per model call. */
  batch: number;
  /** Resize with sharp (shrinking JPEGs while decoding) instead of torchvision's exact arithmetic. */
  fastResize?: boolean;
  /** Images decoded and preprocessed ahead of the model (at least `batch`; two batches by default). */
  ahead?: number | undefined;
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
      preprocessing: presetOf(entry.transform, options),
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

/**
 * Decodes, batches and runs `todo` through the compiled extractor, adding each batch to the store;
 * the first images decode while the model loads.
 */
async function extractImages(
  store: OutputStore,
  modelName: string,
  todo: string[],
  options: ExtractOptions,
): Promise<void> {
  const preset = presetOf(classifierEntry(modelName).transform, options);
  let progress: Progress | undefined;
  await runPipeline(todo, options, {
    load: (path) => loadImage(path, preset),
    start: () => {
      const model = loadModel(modelName, options.weights).model;
      // ONNX Runtime's optimised model is cached on disk (model-cache.ts) for checkpoints, which
      // come again; random weights never do.
      const compiled = compile(buildExtractor(model, options.nodes), { cache: options.weights !== undefined });
      const bar = (progress = new Progress(todo.length));
      return {
        run: (images) => compiled.call(stack(images, 0)) as Record<string, Tensor>,
        write: (paths, outputs, skipped) => {
          for (const { path, reason } of skipped) process.stderr.write(`featurefx: skipping ${path}: ${reason}\n`);
          store.addBatch(paths, outputs ?? {}, skipped);
          bar.advance(paths.length + skipped.length);
        },
      };
    },
  });
  progress?.stop();
}

/**
 * The preprocessing a job runs, as its manifest records it: `fastResize` only when asked for, so
 * a folder written before the option existed (exact preprocessing) still resumes.
 */
function presetOf(transform: Preset, options: ExtractOptions): Preset {
  return options.fastResize === true ? { ...transform, fastResize: true } : transform;
}
