/**
 * `featurefx merge`: joins the outputs of `extract --shard K/N` runs, K = 0..N-1 each exactly once,
 * all of one job, into the folder an unsharded run would have written: rows back in input order,
 * byte for byte the same files. Rows are copied one at a time, so memory does not grow with them.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { bytesPerElement } from '../tensor/dtype.js';
import { numel } from '../tensor/shape.js';
import type { ArrayRecord, ArraySource } from './array-files.js';
import { type SkippedPath, inputOrder } from './input-walk.js';
import { type JobDefinition, jobDifferences } from './job-definition.js';
import { type Manifest, readManifest } from './manifest.js';
import { OutputStore } from './output-store.js';
import { formatShard } from './shard.js';

interface ShardFolder {
  dir: string;
  manifest: Manifest;
  index: number;
}

/** Reads the shards' manifests and refuses any set that is not one job's shards 0..N-1 once each. */
function checkShards(dirs: string[]): { shards: ShardFolder[]; job: JobDefinition } {
  const shards = dirs.map((dir): ShardFolder => {
    const manifest = readManifest(dir);
    if (manifest === undefined)
      throw new Error(`${dir} has no manifest.json: give the --out folders of extract --shard runs`);
    if (!manifest.complete) throw new Error(`${dir} is not complete: rerun its extract command first`);
    if (manifest.job.shard === null) throw new Error(`${dir} is not a shard: it was extracted without --shard`);
    return { dir, manifest, index: manifest.job.shard.index };
  });
  const first = shards[0];
  if (first === undefined) throw new RangeError('merge needs the folders of all shards');
  const count = first.manifest.job.shard!.count;
  const unsharded = (m: Manifest): JobDefinition => ({ ...m.job, shard: null });
  for (const s of shards) {
    if (s.manifest.job.shard!.count !== count) {
      throw new Error(
        `${s.dir} is shard ${formatShard(s.manifest.job.shard)} but ${first.dir} is shard ` +
          `${formatShard(first.manifest.job.shard)}: merge the shards of one split`,
      );
    }
    const differences = jobDifferences(unsharded(first.manifest), unsharded(s.manifest));
    if (differences.length > 0)
      throw new Error(`${s.dir} is a shard of another job than ${first.dir}: ${differences.join('; ')}`);
  }
  const byIndex = new Map<number, string>();
  for (const s of shards) {
    const twice = byIndex.get(s.index);
    if (twice !== undefined) throw new Error(`shard ${s.index}/${count} is given twice: ${twice} and ${s.dir}`);
    byIndex.set(s.index, s.dir);
  }
  const missing = [...Array(count).keys()].filter((k) => !byIndex.has(k));
  if (missing.length > 0) {
    throw new Error(
      `shard${missing.length > 1 ? 's' : ''} ${missing.map((k) => `${k}/${count}`).join(', ')} missing: ` +
        `merge needs all ${count} shards of the split`,
    );
  }
  return { shards, job: unsharded(first.manifest) };
}

/** The rows of one key, each read from its shard's file in the order `rows` gives. */
function rowSource(
  key: string,
  shards: ShardFolder[],
  rows: { shard: ShardFolder; row: number }[],
): ArraySource | undefined {
  const records = new Map<ShardFolder, ArrayRecord>();
  for (const s of shards) {
    const record = s.manifest.arrays.find((a) => a.key === key);
    if (record !== undefined) records.set(s, record);
  }
  const some = records.values().next().value as ArrayRecord | undefined;
  if (some === undefined) return undefined;
  const rowShape = some.shape.slice(1);
  const rowBytes = numel(rowShape) * bytesPerElement(some.dtype);
  for (const [s, r] of records) {
    if (r.dtype !== some.dtype || JSON.stringify(r.shape.slice(1)) !== JSON.stringify(rowShape))
      throw new Error(`'${key}' is ${r.dtype} [${r.shape}] in ${s.dir} but ${some.dtype} [${some.shape}] elsewhere`);
  }
  return {
    key,
    dtype: some.dtype,
    shape: [rows.length, ...rowShape],
    *pieces() {
      const fds = new Map<ShardFolder, number>();
      const buffer = new Uint8Array(rowBytes);
      try {
        for (const { shard, row } of rows) {
          const record = records.get(shard)!;
          let fd = fds.get(shard);
          if (fd === undefined) {
            fd = openSync(join(shard.dir, record.file), 'r');
            fds.set(shard, fd);
            if (fstatSync(fd).size < record.offset + record.shape[0]! * rowBytes)
              throw new Error(
                `${join(shard.dir, record.file)} is shorter than its manifest says; extract that shard again`,
              );
          }
          readSync(fd, buffer, 0, rowBytes, record.offset + row * rowBytes);
          yield buffer;
        }
      } finally {
        for (const fd of fds.values()) closeSync(fd);
      }
    },
  };
}

export function merge(dirs: string[], out: string): void {
  const { shards, job } = checkShards(dirs);
  // Each shard's rows are in input order; the unsharded run's are all of them in that order.
  const rows = shards
    .flatMap((shard) => shard.manifest.rows.map((path, row) => ({ path, shard, row })))
    .sort((a, b) => inputOrder(a.path, b.path));
  const skipped = new Map<string, SkippedPath>();
  for (const s of shards) for (const entry of s.manifest.skipped) skipped.set(entry.path, entry);
  const store = OutputStore.open(out, job, []);
  try {
    if (store.manifest.complete) {
      process.stderr.write(`featurefx: ${out} is already complete (${store.manifest.rows.length} images)\n`);
      return;
    }
    const sources = Object.values(job.nodes).flatMap((key) => rowSource(key, shards, rows) ?? []);
    store.finishWith(
      rows.map((r) => r.path),
      [...skipped.values()].sort((a, b) => inputOrder(a.path, b.path)),
      sources,
    );
  } finally {
    store.close();
  }
  process.stderr.write(`featurefx: merged ${dirs.length} shards, ${rows.length} images, into ${out}\n`);
}
