/**
 * Random access to a weights file's bytes without holding the whole file: readers ask for the
 * ranges they need (a zip's central directory, a pickle, one storage) and each range is read at
 * its offset. This is what lets a checkpoint over 2 GiB load (Node's `readFileSync` stops at
 * 2 GiB), and lets every declared size be checked against the file's real size before anything
 * is allocated for it.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { WeightsError } from '../errors.js';

export interface ByteSource {
  /** What the bytes are, for messages: the file's path, or "the given bytes". */
  readonly name: string;
  readonly size: number;
  /** Fills `target` with the bytes at `position`; the caller has checked the range against `size`. */
  readInto(target: Uint8Array, position: number): void;
}

/** One `readSync` reads at most 2 GiB - 1 bytes; larger ranges are read in pieces of this size. */
const MAX_READ = 1 << 30;

function fileSource(path: string, fd: number, size: number): ByteSource {
  return {
    name: `'${path}'`,
    size,
    readInto(target, position) {
      let done = 0;
      while (done < target.length) {
        let n: number;
        try {
          n = readSync(fd, target, done, Math.min(MAX_READ, target.length - done), position + done);
        } catch (cause) {
          throw new WeightsError(`cannot read weights file '${path}': ${(cause as Error).message}`, { cause });
        }
        if (n === 0) {
          throw new WeightsError(
            `weights file '${path}' ended at byte ${position + done}, before the ${target.length} bytes ` +
              `wanted at byte ${position}: it was truncated while being read; copy it again`,
          );
        }
        done += n;
      }
    },
  };
}

function memorySource(bytes: Uint8Array): ByteSource {
  return {
    name: 'the given bytes',
    size: bytes.length,
    readInto(target, position) {
      target.set(bytes.subarray(position, position + target.length));
    },
  };
}

/** Runs `read` on the file at `path` (closed afterwards, whatever happens) or on bytes in memory. */
export function withByteSource<T>(source: string | Uint8Array, read: (bytes: ByteSource) => T): T {
  if (typeof source !== 'string') return read(memorySource(source));
  let fd: number;
  try {
    // Non-blocking, so that a FIFO given as the path is refused below instead of waiting for a writer.
    fd = openSync(source, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    throw new WeightsError(`cannot read weights file '${source}': ${(cause as Error).message}`, { cause });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      throw new WeightsError(
        `cannot read weights file '${source}': it is not a regular file; give a .pth or .safetensors file`,
      );
    }
    return read(fileSource(source, fd, stats.size));
  } finally {
    closeSync(fd);
  }
}

/** The `length` bytes at `position`, after checking that they lie inside the source. */
export function readRange(bytes: ByteSource, position: number, length: number, what: string): Uint8Array {
  if (
    !Number.isSafeInteger(position) ||
    !Number.isSafeInteger(length) ||
    position < 0 ||
    length < 0 ||
    position + length > bytes.size
  ) {
    throw new WeightsError(
      `${what} (${length} bytes at byte ${position}) runs past the end of ${bytes.name} (${bytes.size} bytes): ` +
        'the file is truncated or corrupt',
    );
  }
  const out = new Uint8Array(length);
  bytes.readInto(out, position);
  return out;
}
