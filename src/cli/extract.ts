/** `featurefx extract`: features of many images, batched, resumable, shardable. */
import { fromData } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { cachedExtractor } from './cached-extractor.js';
import { FileWriter } from './file-writer.js';
import { ImagePool } from './image-pool.js';
import { IMAGE_EXTENSIONS, type Preset, preprocessImage } from './images.js';
import { walkInputs } from './input-walk.js';
import { runPipeline } from './extract-pipeline.js';
import { inputsRecord, weightsRecord } from './job-definition.js';
import { classifierEntry, parseNodes } from './model-setup.js';
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
  /** Worker threads that decode and preprocess (0: the JS thread does); used only for more than a batch. */
  workers: number;
  format: 'npy' | 'safetensors';
  shard?: string;
  out: string;
}

export async function extract(modelName: string, inputs: string[], options: ExtractOptions): Promise<void> {
  // Everything that can be refused from the arguments alone is, before any file is read or written.
  const shard = parseShard(options.shard);
  const nodes = parseNodes(options.nodes);
  checkFileNames(Object.values(nodes));
  const isOnnx = modelName.toLowerCase().endsWith('.onnx');
  const source = isOnnx ? await onnxSource(modelName, nodes, options) : zooSource(modelName, options);
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
      weights: weightsRecord(source.weightsFile),
      preprocessing: presetOf(source.transform, options),
      inputs: inputsRecord(walk.files),
      shard: shard ?? null,
      format: options.format,
    },
    walk.skipped,
  );
  try {
    await run(store, source, mine, options);
  } finally {
    store.close();
  }
}

async function run(store: OutputStore, source: ModelSource, mine: string[], options: ExtractOptions): Promise<void> {
  if (store.manifest.complete) {
    process.stderr.write(`featurefx: ${options.out} is already complete (${store.manifest.rows.length} images)\n`);
    return;
  }
  const done = store.done();
  const todo = mine.filter((p) => !done.has(p));
  if (todo.length < mine.length)
    process.stderr.write(`featurefx: resuming, ${mine.length - todo.length} of ${mine.length} images already done\n`);
  // A shard may hold no images (more shards than images): it still gets its manifest, for merge.
  if (todo.length > 0) await extractImages(store, source, todo, options);
  const written = new Intl.ListFormat('en').format([...store.finish(), 'manifest.json']);
  process.stderr.write(
    `featurefx: ${store.manifest.rows.length} images, ${store.manifest.skipped.length} skipped; wrote ${written} in ${options.out}\n`,
  );
}

/** What `extract` runs a batch of preprocessed images [n, 3, crop, crop] through. */
interface BatchModel {
  run(batch: Tensor): Record<string, Tensor>;
}

/** A zoo model by name or an ONNX file: its preprocessing, the file holding its weights, and how to load it. */
interface ModelSource {
  transform: Preset;
  weightsFile: string | undefined;
  load(): BatchModel;
}

function zooSource(modelName: string, options: ExtractOptions): ModelSource {
  const transform = classifierEntry(modelName).transform;
  return { transform, weightsFile: options.weights, load: () => zooModel(modelName, options) };
}

/**
 * An ONNX file holds its weights: its digest keys the job as a checkpoint's does. Its reader is
 * imported only here: protobufjs and ONNX's schema take 100 ms or more to load, which zoo jobs skip.
 */
async function onnxSource(path: string, nodes: Record<string, string>, options: ExtractOptions): Promise<ModelSource> {
  if (options.weights !== undefined) {
    throw new RangeError(`${path} holds its own weights: drop --weights ${options.weights}`);
  }
  const { loadOnnxSource } = await import('./onnx-source.js');
  const onnx = await loadOnnxSource(path, nodes);
  return { transform: onnx.preset, weightsFile: path, load: () => onnx };
}

/** The zoo model with the nodes asked for, compiled for ONNX Runtime. */
function zooModel(modelName: string, options: ExtractOptions): BatchModel {
  // With a checkpoint, ONNX Runtime's optimised model is cached on disk, and a rerun loads it
  // without building the model (cached-extractor.ts).
  return { run: cachedExtractor(modelName, options.weights, options.nodes) };
}

/** Preprocessed images [3, crop, crop] as one batch [n, 3, crop, crop]. */
function batchOf(images: Float32Array[], crop: number): Tensor {
  const batch = new Float32Array(images.length * 3 * crop * crop);
  images.forEach((image, i) => batch.set(image, i * image.length));
  return fromData('float32', [images.length, 3, crop, crop], batch);
}

/**
 * Decodes, batches and runs `todo` through the compiled extractor, adding each batch to the store;
 * the first images decode while the model loads. Jobs of more than a batch decode and preprocess in
 * worker threads, and write on another while the next batch runs; a smaller job would spend more on
 * starting them than they save.
 */
async function extractImages(
  store: OutputStore,
  source: ModelSource,
  todo: string[],
  options: ExtractOptions,
): Promise<void> {
  const preset = presetOf(source.transform, options);
  const threaded = todo.length > options.batch;
  const pool = threaded && options.workers > 0 ? new ImagePool(options.workers, preset) : undefined;
  const writer = threaded ? new FileWriter() : undefined;
  let progress: Progress | undefined;
  try {
    await runPipeline(todo, options, {
      load: (path) => (pool === undefined ? preprocessImage(path, preset) : pool.load(path)),
      start: () => {
        const model = source.load();
        const bar = (progress = new Progress(todo.length));
        return {
          run: (images) => model.run(batchOf(images, preset.cropSize)),
          write: async (paths, outputs, skipped) => {
            for (const { path, reason } of skipped) process.stderr.write(`featurefx: skipping ${path}: ${reason}\n`);
            await store.addBatch(paths, outputs ?? {}, skipped, writer?.write);
            bar.advance(paths.length + skipped.length);
          },
        };
      },
    });
  } finally {
    progress?.stop();
    await Promise.all([pool?.close(), writer?.close()]);
  }
}

/**
 * The preprocessing a job runs, as its manifest records it: `fastResize` only when asked for, so
 * a folder written before the option existed (exact preprocessing) still resumes.
 */
function presetOf(transform: Preset, options: ExtractOptions): Preset {
  return options.fastResize === true ? { ...transform, fastResize: true } : transform;
}
