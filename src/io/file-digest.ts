/**
 * The SHA-256 of a weights file, remembered by the file's identity so that a later run need not
 * read 100 MB again to know which weights it was given.
 *
 * The identity is what the file system changes on every write: device, inode, size, and the
 * modification and change times in nanoseconds (the change time cannot be set back by a user;
 * a file replaced by another gets a new inode or a new change time). A digest is remembered only
 * for a file unchanged for `SETTLED_MS` before it was hashed: a write within the same clock tick
 * as the time stamp read would keep the identity (git's "racily clean" case), and a file that old
 * cannot get one any more. A memo that is unreadable or not a digest is ignored and rewritten.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  type BigIntStats,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { withByteSource } from './byte-source.js';

/** How long a file must have been left alone before its digest is remembered. */
const SETTLED_MS = 2000n;
const DIGEST = /^[0-9a-f]{64}$/;

/** Counts for tests and diagnostics: digests served from a memo, and files read to the end. */
export const fileDigestStats = { remembered: 0, computed: 0 };

/**
 * The SHA-256 of the file at `path` (hex), read in 1 MiB pieces through the loaders' byte source
 * (checkpoints can be larger than one buffer may be, and a FIFO or folder given as the path is
 * refused, not waited on). With `memoDir`, a digest remembered there for the same file identity
 * is returned without reading the file, and a new one is remembered. `now` (ms since the epoch) is
 * when the file's time stamps are read: tests pass a later time to see a file as settled.
 */
export function fileSha256(path: string, memoDir?: string, now = Date.now()): string {
  const memo = memoDir === undefined ? undefined : memoPath(path, memoDir, now);
  if (memo !== undefined) {
    const known = readMemo(memo.path);
    if (known !== undefined) {
      fileDigestStats.remembered++;
      return known;
    }
  }
  const digest = hashFile(path);
  fileDigestStats.computed++;
  if (memo !== undefined && memo.settled) writeMemo(memo.path, digest);
  return digest;
}

function hashFile(path: string): string {
  return withByteSource(path, (bytes) => {
    const hash = createHash('sha256');
    const piece = new Uint8Array(1 << 20);
    for (let at = 0; at < bytes.size; at += piece.length) {
      const n = Math.min(piece.length, bytes.size - at);
      bytes.readInto(piece.subarray(0, n), at);
      hash.update(piece.subarray(0, n));
    }
    return hash.digest('hex');
  });
}

/**
 * The identity of the file at `path` as the file system keeps it (see above), and the newest of
 * its time stamps; undefined for what is not a regular file.
 */
function identityOf(path: string): { identity: string; newestNs: bigint } | undefined {
  let real: string;
  let s: BigIntStats;
  try {
    real = realpathSync(path);
    s = statSync(real, { bigint: true });
  } catch {
    return undefined;
  }
  if (!s.isFile()) return undefined;
  return {
    identity: [real, s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join('\n'),
    newestNs: s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs,
  };
}

/**
 * A string that changes whenever the file at `path` is written or replaced (see above): a caller
 * that read the file between two equal identities read the bytes a digest taken then describes.
 */
export function fileIdentity(path: string): string | undefined {
  return identityOf(path)?.identity;
}

/**
 * Where the digest of the file's current identity is remembered, and whether the file is settled
 * enough to remember it; undefined for what is not a regular file (the read refuses it).
 */
function memoPath(path: string, memoDir: string, now: number): { path: string; settled: boolean } | undefined {
  const found = identityOf(path);
  if (found === undefined) return undefined;
  const name = createHash('sha256').update(found.identity).digest('hex');
  const settled = BigInt(now) * 1_000_000n - found.newestNs >= SETTLED_MS * 1_000_000n;
  return { path: join(memoDir, 'digests', name), settled };
}

function readMemo(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'latin1');
    return DIGEST.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temporary file and renamed, so that a reader sees a whole digest or none. */
function writeMemo(path: string, digest: string): void {
  const temporary = `${path}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(temporary, digest);
    renameSync(temporary, path);
  } catch {
    // An unwritable cache folder costs the memo, not the run.
    rmSync(temporary, { force: true });
  }
}
