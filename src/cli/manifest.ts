/**
 * `manifest.json`, the record of an output folder: the job, the image of every row, the skipped
 * paths with their reasons, the parts of an unfinished run, and where the final arrays lie.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArrayRecord } from './array-files.js';
import type { SkippedPath } from './input-walk.js';
import type { JobDefinition } from './job-definition.js';

export const MANIFEST_FILE = 'manifest.json';
/** Bumped when the manifest's meaning changes; older folders are refused, not misread. */
const VERSION = 2;

export interface Manifest {
  featurefx: typeof VERSION;
  job: JobDefinition;
  /** Image paths, in the order of the arrays' rows. */
  rows: string[];
  skipped: SkippedPath[];
  /** Per-batch parts in `.featurefx-work/parts/` of an unfinished run, in row order. */
  parts: { file: string; rows: number }[];
  /** The final files featurefx put (or is putting) into the folder. */
  outputs: string[];
  /** Where each final array's data lies, once complete. */
  arrays: ArrayRecord[];
  complete: boolean;
}

export function emptyManifest(job: JobDefinition): Manifest {
  return { featurefx: VERSION, job, rows: [], skipped: [], parts: [], outputs: [], arrays: [], complete: false };
}

/** The manifest in `dir`, or undefined when there is none. */
export function readManifest(dir: string): Manifest | undefined {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let manifest: Partial<Manifest>;
  try {
    manifest = JSON.parse(text) as Partial<Manifest>;
  } catch (e) {
    throw new Error(
      `${path} is damaged (${(e as Error).message}), so the run in ${dir} can be neither resumed nor merged; ` +
        `remove ${dir} and run the extract command again, or choose another --out`,
      { cause: e },
    );
  }
  const valid =
    typeof manifest === 'object' &&
    manifest !== null &&
    typeof manifest.job === 'object' &&
    manifest.job !== null &&
    [manifest.rows, manifest.skipped, manifest.parts, manifest.outputs, manifest.arrays].every(Array.isArray) &&
    typeof manifest.complete === 'boolean';
  if (!valid || manifest.featurefx !== VERSION) {
    throw new Error(
      `${path} is not a manifest this featurefx can read (written by another version, or by something else); ` +
        `remove ${dir} and run the extract command again, or choose another --out`,
    );
  }
  return manifest as Manifest;
}
