/**
 * The entry of an image worker (image-pool.ts): decodes and preprocesses the images the pool sends,
 * one message each, and hands each result back by transferring its buffer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { type Preset, preprocessImage } from './images.js';

export interface ImageRequest {
  id: number;
  path: string;
}

export type ImageReply = { id: number; input: Float32Array } | { id: number; reason: string };

// A worker per core decodes one image at a time: libvips's own threads would only compete with
// the other workers, and its cache of operations would keep decoded images nobody asks for again.
sharp.concurrency(1);
sharp.cache(false);

const preset = workerData as Preset;
const port = parentPort!;
/** Requests not started: the pool sends every image at once, since it cannot while the model blocks its thread. */
const queue: ImageRequest[] = [];
let active = 0;

/** Keeps two images going: one decoding on libuv's threads while the other is preprocessed. */
function next(): void {
  while (active < 2 && queue.length > 0) {
    const { id, path } = queue.shift()!;
    active++;
    preprocessImage(path, preset)
      .then(
        (input) => port.postMessage({ id, input } satisfies ImageReply, [input.buffer as ArrayBuffer]),
        (e: unknown) =>
          port.postMessage({ id, reason: e instanceof Error ? e.message : String(e) } satisfies ImageReply),
      )
      .finally(() => {
        active--;
        next();
      });
  }
}

port.on('message', (request: ImageRequest) => {
  queue.push(request);
  next();
});
