/**
 * Image workers for `extract`: worker threads that decode and preprocess images (image-worker.ts),
 * so that the JS thread, which ONNX Runtime blocks while the model runs, only feeds the model.
 * Each worker takes at most two images at a time (one decoding on libuv's threads while the other
 * is preprocessed), and the next waits in the pool's queue for the first worker free.
 */
import type { Worker } from 'node:worker_threads';
import { StageFailure } from './extract-pipeline.js';
import type { ImageReply, ImageRequest } from './image-worker.js';
import type { Preset } from './images.js';
import { startWorker, workerEntry } from './worker-entry.js';

const IMAGES_PER_WORKER = 2;

interface Job {
  id: number;
  path: string;
  resolve(input: Float32Array): void;
  reject(error: Error): void;
}

export class ImagePool {
  private readonly queue: Job[] = [];
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
      this.queue.push({ id: this.nextId++, path, resolve, reject });
      this.dispatch();
    });
  }

  /** Stops the workers; loads not finished are left unsettled. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.held.keys()].map((w) => w.terminate()));
  }

  private dispatch(): void {
    for (const [worker, jobs] of this.held) {
      while (jobs.size < IMAGES_PER_WORKER && this.queue.length > 0) {
        const job = this.queue.shift()!;
        jobs.set(job.id, job);
        worker.postMessage({ id: job.id, path: job.path } satisfies ImageRequest);
      }
    }
  }

  private settle(worker: Worker, reply: ImageReply): void {
    const jobs = this.held.get(worker)!;
    const job = jobs.get(reply.id)!;
    jobs.delete(reply.id);
    if ('input' in reply) job.resolve(reply.input);
    else job.reject(new Error(reply.reason));
    this.dispatch();
  }

  /**
   * A worker that stops (an uncaught error, out of memory) fails every load not finished: the run
   * stops there instead of recording images as skipped that nothing was wrong with.
   */
  private fail(worker: Worker, reason: string): void {
    if (this.failure !== undefined) return;
    const paths = [...this.held.get(worker)!.values()].map((j) => j.path);
    this.failure = new StageFailure(
      `an image worker stopped (${reason})` +
        (paths.length > 0 ? ` while preprocessing ${paths.join(', ')}` : '') +
        '; the images written so far are kept: run the same command again to resume',
    );
    for (const jobs of this.held.values()) for (const job of jobs.values()) job.reject(this.failure);
    for (const job of this.queue.splice(0)) job.reject(this.failure);
    void this.close();
  }
}
