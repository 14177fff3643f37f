/**
 * The stages of `extract` as a pipeline: images load (decode and preprocess) ahead of the model,
 * batches run through it in order, and each batch is written while the next one runs.
 *
 * The model runs synchronously on the JS thread (ONNX Runtime's native binding blocks it while its
 * threads compute), so nothing on the JS thread moves during a run: only work already handed to
 * other threads (extract's image workers and file writer, libuv's) goes on. The pipeline therefore
 * starts the loads of the next `ahead` images, and lets the event loop take in every finished one,
 * before each run; the slowest stage then sets the pace instead of the sum of the stages. A batch's
 * write may be asynchronous: it then goes on during the next run, and the run after that waits for
 * it (one write at a time, so that at most two batches of outputs are held).
 */
import { availableParallelism } from 'node:os';
import type { SkippedPath } from './input-walk.js';

export interface PipelineOptions {
  /** Images per model call. */
  batch: number;
  /**
   * Images loading, or loaded and waiting for the model, at most (at least `batch`). Two batches by
   * default: the next batch is complete when a run ends while the one after it decodes during that run.
   */
  ahead?: number | undefined;
}

/** What the pipeline does, in the order it happens; tests observe it through `onEvent`. */
export type PipelineEvent =
  | { kind: 'load-start'; index: number }
  | { kind: 'load-end'; index: number }
  | { kind: 'run-start'; batch: number }
  | { kind: 'run-end'; batch: number };

/**
 * A failure of a stage itself rather than of one image (an image worker that stopped): it stops the
 * run, where an image's own failure skips the image.
 */
export class StageFailure extends Error {
  override name = 'StageFailure';
}

/** The model's side of the pipeline. */
export interface BatchStages<T, O> {
  /** Runs loaded images through the model, synchronously. */
  run(items: T[]): O;
  /** Takes a batch's outputs (undefined when every image of it was skipped) and its skipped paths. */
  write(paths: string[], outputs: O | undefined, skipped: SkippedPath[]): void | Promise<void>;
}

export interface PipelineStages<T, O> {
  load(path: string): Promise<T>;
  /** Builds the model's stages, once the first images are loading: the model builds while they decode. */
  start(): BatchStages<T, O>;
  onEvent?: (event: PipelineEvent) => void;
}

/**
 * The default batch for the cores present: 8 images per core, 8 to 32 (16 on 2 cores). A larger
 * batch gains nothing from ONNX Runtime on a CPU, and makes the first batch, whose decoding
 * nothing overlaps, longer.
 */
export function defaultBatch(cores = availableParallelism()): number {
  return Math.min(32, Math.max(8, 8 * cores));
}

/**
 * The default number of image workers: half the cores, at least 1 and at most 8. Each worker keeps
 * two images going (one decoding on libuv's threads while it preprocesses the other), and decoding
 * and preprocessing a camera photo take about 20 ms of CPU against resnet50's 150 ms, so half the
 * cores keep the model fed without taking its cores; each worker holds about 60 MB.
 */
export function defaultWorkers(cores = availableParallelism()): number {
  return Math.min(8, Math.ceil(cores / 2));
}

type Loaded<T> = { path: string; item: T } | { path: string; reason: string } | { path: string; failure: unknown };

/** Lets the event loop run the callbacks of loads that finished while the JS thread was busy. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function runPipeline<T, O>(
  paths: readonly string[],
  options: PipelineOptions,
  stages: PipelineStages<T, O>,
): Promise<void> {
  const { batch } = options;
  // Fewer than a batch ahead would leave part of every batch to load after the previous run.
  const ahead = Math.max(options.ahead ?? 2 * batch, batch);
  const emit = stages.onEvent ?? (() => {});
  // A load that throws instead of rejecting skips its image like one that rejects.
  const load = (path: string): Promise<T> => {
    try {
      return stages.load(path);
    } catch (e) {
      return Promise.reject(e);
    }
  };
  /** Loads started and not yet taken by a batch, in input order. */
  const pending: Promise<Loaded<T>>[] = [];
  let started = 0;
  /** Starts loads until `ahead` images are loading or waiting. */
  const fill = (): void => {
    while (started < paths.length && pending.length < ahead) {
      const index = started++;
      const path = paths[index]!;
      emit({ kind: 'load-start', index });
      pending.push(
        load(path).then(
          (item): Loaded<T> => (emit({ kind: 'load-end', index }), { path, item }),
          (e: unknown): Loaded<T> => (
            emit({ kind: 'load-end', index }),
            e instanceof StageFailure
              ? { path, failure: e }
              : { path, reason: e instanceof Error ? e.message : String(e) }
          ),
        ),
      );
    }
  };
  fill();
  const { run, write } = stages.start();
  /** The last batch's write, if it is still going on. */
  let writing: Promise<void> = Promise.resolve();
  try {
    for (let b = 0; b * batch < paths.length; b++) {
      const loaded = await Promise.all(pending.splice(0, batch));
      const failed = loaded.find((l) => 'failure' in l);
      if (failed !== undefined) throw failed.failure;
      // The next images start loading, and those that finished during the last run are taken in,
      // before this batch's run blocks the JS thread.
      fill();
      await settle();
      const items = loaded.flatMap((l) => ('item' in l ? [l] : []));
      const skipped = loaded.flatMap((l) => ('reason' in l ? [{ path: l.path, reason: l.reason }] : []));
      let outputs: O | undefined;
      if (items.length > 0) {
        emit({ kind: 'run-start', batch: b });
        outputs = run(items.map((l) => l.item));
        emit({ kind: 'run-end', batch: b });
      }
      await writing;
      writing = Promise.resolve(
        write(
          items.map((l) => l.path),
          outputs,
          skipped,
        ),
      );
      // Its error is taken by the next `await writing`; meanwhile it is not an unhandled rejection.
      writing.catch(() => {});
    }
    await writing;
  } finally {
    // A write still going on when another stage failed ends before the caller closes the output.
    await writing.catch(() => {});
  }
}
