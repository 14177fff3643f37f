/**
 * Durable writes (output-store.ts's `writeDurably`) on a worker thread, one after another in the
 * order they are asked: the JS thread runs the model while a batch's files are written and flushed
 * to the disk (about 150 ms a batch for resnet50's layer3 and layer4 at batch 16, all of it time
 * the model would otherwise wait).
 */
import type { Worker } from 'node:worker_threads';
import { StageFailure } from './extract-pipeline.js';
import type { WriteReply, WriteRequest } from './file-writer-worker.js';
import { startWorker, workerEntry } from './worker-entry.js';

interface Waiting {
  resolve(): void;
  reject(error: Error): void;
}

export class FileWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private failure: StageFailure | undefined;
  private closing = false;

  constructor() {
    this.worker = startWorker(workerEntry('file-writer-worker'), undefined);
    this.worker.on('message', (reply: WriteReply) => this.settle(reply));
    this.worker.on('error', (e) => this.fail(e.message));
    this.worker.on('exit', (code) => this.closing || this.fail(`it exited with code ${code}`));
  }

  /**
   * Writes `data` to `tmp`, flushes it and renames it to `path`. A Uint8Array's buffer is transferred:
   * the caller gives it up (it must be the array's own, as `saveNpy`'s is).
   */
  readonly write = (path: string, data: Uint8Array | string, tmp: string): Promise<void> => {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      const transfer = typeof data === 'string' ? [] : [data.buffer as ArrayBuffer];
      this.worker.postMessage({ id, path, data, tmp } satisfies WriteRequest, transfer);
    });
  };

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }

  private settle(reply: WriteReply): void {
    const waiting = this.waiting.get(reply.id)!;
    this.waiting.delete(reply.id);
    if ('message' in reply) waiting.reject(Object.assign(new Error(reply.message), { code: reply.code }));
    else waiting.resolve();
  }

  private fail(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = new StageFailure(
      `the output writer stopped (${reason}); the images written before are kept: run the same command again to resume`,
    );
    for (const waiting of this.waiting.values()) waiting.reject(this.failure);
    this.waiting.clear();
  }
}
