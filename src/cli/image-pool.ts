/**
 * Image workers for `extract`: worker threads that decode and preprocess images (image-worker.ts),
 * so that the JS thread, which ONNX Runtime blocks while the model runs, only feeds the model.
 * Each image is sent at once to the worker holding the fewest: the JS thread cannot hand out more
 * work during a run, so a worker holds its own queue (image-worker.ts).
 */
import type { Worker } from 'node:worker_threads';
import { StageFailure } from './extract-pipeline.js';
import type { ImageReply, ImageRequest } from './image-worker.js';
import type { Preset } from './images.js';
import { startWorker, workerEntry } from './worker-entry.js';

interface Job {
  id: number;
  path: string;
  resolve(input: Float32Array): void;
  reject(error: Error): void;
}

export class ImagePool {
  /** The jobs each worker holds, by id. */
  private readonly held = new Map<Worker, Map<number, Job>>();
  private nextId = 0;
  private failure: StageFailure | undefined;
  private closing = false;

  /** Starts `size` workers for images of `preset`; `entry` is the workers' script (tests give others). */
  constructor(size: number, preset: Preset, entry = workerEntry('image-worker')) {
    for (let i = 0; i < size; i++) {
      const worker = startWorker(entry, preset);
      this.held.set(worker, new Map());
      worker.on('message', (reply: ImageReply) => this.settle(worker, reply));
      worker.on('error', (e) => this.fail(worker, e.message));
      worker.on('exit', (code) => this.closing || this.fail(worker, `it exited with code ${code}`));
    }
  }

  /** The preprocessed image: rejects with the image's own error, or a StageFailure if a worker stopped. */
  load(path: string): Promise<Float32Array> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const job = { id: this.nextId++, path, resolve, reject };
      const [worker, jobs] = [...this.held].reduce((a, b) => (b[1].size < a[1].size ? b : a));
      jobs.set(job.id, job);
      worker.postMessage({ id: job.id, path } satisfies ImageRequest);
    });
  }

  /** Stops the workers; loads not finished are left unsettled. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.held.keys()].map((w) => w.terminate()));
  }

  private settle(worker: Worker, reply: ImageReply): void {
    const jobs = this.held.get(worker)!;
    const job = jobs.get(reply.id)!;
    jobs.delete(reply.id);
    if ('input' in reply) job.resolve(reply.input);
    else job.reject(new Error(reply.reason));
  }

  /**
   * A worker that stops (an uncaught error, out of memory) fails every load not finished: the run
   * stops there instead of recording images as skipped that nothing was wrong with.
   */
  private fail(worker: Worker, reason: string): void {
    if (this.failure !== undefined) return;
    // The images it held, in the order it takes them: the first ones are those it was working on.
    const paths = [...this.held.get(worker)!.values()].map((j) => j.path);
    const shown = paths.slice(0, 2).join(', ') + (paths.length > 2 ? ` (and ${paths.length - 2} queued)` : '');
    this.failure = new StageFailure(
      `an image worker stopped (${reason})` +
        (paths.length > 0 ? ` while preprocessing ${shown}` : '') +
        '; the images written so far are kept: run the same command again to resume',
    );
    for (const jobs of this.held.values()) for (const job of jobs.values()) job.reject(this.failure);
    void this.close();
  }
}
