/**
 * What defines an extraction job: a folder's rows may only come from one job, so a resume, a
 * merge, or a rerun on a finished folder is checked against this record in its manifest.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { fileSha256 } from '../io/file-digest.js';
import { resolveCacheDir } from '../runtime/model-cache.js';
import type { Preset } from './images.js';
import { type Shard, formatShard } from './shard.js';

export interface JobDefinition {
  model: string;
  /** Node name → output key, in output order. */
  nodes: Record<string, string>;
  /** The weights file (its path only for the reader; the digest is what is compared), or null for random weights. */
  weights: { file: string; sha256: string } | null;
  preprocessing: Preset;
  /** The whole sorted input list, before sharding: its length and the digest of its paths. */
  inputs: { count: number; sha256: string };
  shard: Shard | null;
  format: 'npy' | 'safetensors';
}

/** The weights' digest is remembered in the cache folder (file-digest.ts): a rerun does not read them again for it. */
export function weightsRecord(path: string | undefined): JobDefinition['weights'] {
  return path === undefined ? null : { file: resolve(path), sha256: fileSha256(path, resolveCacheDir(true)) };
}

export function inputsRecord(files: readonly string[]): JobDefinition['inputs'] {
  return { count: files.length, sha256: createHash('sha256').update(files.join('\n')).digest('hex') };
}

const describe: { [F in keyof JobDefinition]: (value: JobDefinition[F]) => string } = {
  model: (m) => m,
  nodes: (n) => JSON.stringify(n),
  weights: (w) => (w === null ? 'random weights' : `${w.file} (sha256 ${w.sha256.slice(0, 12)}…)`),
  preprocessing: (p) => JSON.stringify(p),
  inputs: (i) => `${i.count} images (list sha256 ${i.sha256.slice(0, 12)}…)`,
  shard: formatShard,
  format: (f) => f,
};

/** The value compared: weights by content, everything else as written. */
const identity = (field: keyof JobDefinition, job: JobDefinition): string =>
  field === 'weights' ? (job.weights?.sha256 ?? 'none') : JSON.stringify(job[field]);

/** One line per field that differs: `model: resnet18 then, resnet50 now`. */
export function jobDifferences(then: JobDefinition, now: JobDefinition): string[] {
  return (Object.keys(describe) as (keyof JobDefinition)[])
    .filter((field) => identity(field, then) !== identity(field, now))
    .map((field) => {
      const show = describe[field] as (value: unknown) => string;
      return `${field}: ${show(then[field])} then, ${show(now[field])} now`;
    });
}
