/** The entry of the file writer's worker (file-writer.ts): writes each file it is sent durably. */
import { parentPort } from 'node:worker_threads';
import { writeDurably } from './output-store.js';

export interface WriteRequest {
  id: number;
  path: string;
  data: Uint8Array | string;
  tmp: string;
}

/** Done, or the error with its code (ENOSPC: the store says the disk is full). */
export type WriteReply = { id: number } | { id: number; message: string; code: string | undefined };

const port = parentPort!;
port.on('message', ({ id, path, data, tmp }: WriteRequest) => {
  try {
    writeDurably(path, data, tmp);
    port.postMessage({ id } satisfies WriteReply);
  } catch (e) {
    const { message, code } = e as NodeJS.ErrnoException;
    port.postMessage({ id, message, code } satisfies WriteReply);
  }
});
