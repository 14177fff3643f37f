/**
 * The output folder of `extract` and `merge`. featurefx writes only these into it:
 *
 *   manifest.json          the job, the image of every row, skipped paths, the parts of an unfinished run
 *   <key>.npy ...          the final arrays (or one features.safetensors), once every image is done
 *   .featurefx-work/       the lock, per-batch parts and temporaries; removed when the run is complete
 *
 * A folder holding anything else is refused, and only files inside `.featurefx-work/` are ever
 * removed. Every file is written to a temporary name inside `.featurefx-work/`, flushed, and
 * renamed into place, and the manifest is written after the files it names: a run killed at any
 * point leaves whole files and a manifest that a rerun of the same job resumes from.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { loadNpy, saveNpy } from '../io/npy.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ArraySource, writeArrayFiles } from './array-files.js';
import type { SkippedPath } from './input-walk.js';
import { type JobDefinition, jobDifferences } from './job-definition.js';
import { MANIFEST_FILE, type Manifest, emptyManifest, readManifest } from './manifest.js';
import { OutputLock } from './output-lock.js';
import { fileKey } from './output-keys.js';

export const WORK_FOLDER = '.featurefx-work';

/** Writes `data` to `tmp`, flushes it to the disk, and renames it to `path`. */
export function writeDurably(path: string, data: Uint8Array | string, tmp: string): void {
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** `writeDurably`, or the same done elsewhere (extract's runs on a worker thread, file-writer.ts). */
export type DurableWrite = (path: string, data: Uint8Array | string, tmp: string) => void | Promise<void>;

/** Makes the renames into `dir` durable. */
function fsyncFolder(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes a folder if it is empty: one made for a run that stopped before writing, or of parts all joined. */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty (or gone): nothing to do.
  }
}

/** Releases the lock, then removes the work folder and (if this run made it) `dir` when they are left empty. */
function release(lock: OutputLock, dir: string, createdDir: boolean): void {
  lock.release();
  removeIfEmpty(join(dir, WORK_FOLDER));
  if (createdDir) removeIfEmpty(dir);
}

/** Refuses a folder with anything featurefx did not write for a job, before anything is written into it. */
function checkFolder(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw new Error(`--out ${dir} is a file; give a folder`, { cause: e });
    throw e;
  }
  const ours = new Set([MANIFEST_FILE, WORK_FOLDER, ...(readManifest(dir)?.outputs ?? [])]);
  const foreign = entries.filter((name) => !ours.has(name)).sort();
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? `, and ${foreign.length - 5} more` : '');
    throw new Error(
      `--out ${dir} holds files featurefx did not write (${shown}); featurefx writes only into a new or empty ` +
        `folder, or the folder of an earlier run of the same job, so that it never overwrites or deletes your ` +
        `files: choose a new --out folder`,
    );
  }
  const work = join(dir, WORK_FOLDER);
  if (existsSync(work) && !lstatSync(work).isDirectory())
    throw new Error(`${work} is not a folder featurefx made; move it away, or choose a new --out folder`);
}

/** Refuses to resume, or to call complete, a folder of another job. */
function checkSameJob(dir: string, previous: Manifest, job: JobDefinition): void {
  const differences = jobDifferences(previous.job, job);
  if (differences.length === 0) return;
  if (previous.complete && differences.length === 1 && differences[0]!.startsWith('inputs:')) {
    throw new Error(
      `${dir} is complete for another input list (${differences[0]}): featurefx does not add images to a ` +
        `finished output; extract the new list into a new --out`,
    );
  }
  throw new Error(
    `${dir} holds ${previous.complete ? 'the finished output' : 'an unfinished run'} of another job, whose rows ` +
      `must not be mixed with this one's: ${differences.join('; ')}. ` +
      (previous.complete
        ? 'Choose another --out'
        : 'Rerun with the earlier settings to finish it, or choose another --out'),
  );
}

export class OutputStore {
  private constructor(
    readonly dir: string,
    readonly manifest: Manifest,
    private readonly work: string,
    private readonly lock: OutputLock,
    private readonly createdDir: boolean,
  ) {}

  /**
   * Opens `dir` for `job`: refuses a folder of another job or with files of its own, takes its
   * lock, and removes what a killed run left in the work folder. `skipped` (the input walk's)
   * joins the manifest's list.
   */
  static open(dir: string, job: JobDefinition, skipped: readonly SkippedPath[]): OutputStore {
    const createdDir = !existsSync(dir);
    checkFolder(dir);
    const work = join(dir, WORK_FOLDER);
    const lock = OutputLock.acquire(work, dir);
    try {
      // Read again under the lock: the run that held it may have written since.
      const previous = readManifest(dir);
      if (previous !== undefined) checkSameJob(dir, previous, job);
      const manifest = previous ?? emptyManifest(job);
      const known = new Set(manifest.skipped.map((s) => s.path));
      manifest.skipped.push(...skipped.filter((s) => !known.has(s.path)));
      const store = new OutputStore(dir, manifest, work, lock, createdDir);
      store.removeLeftovers();
      return store;
    } catch (e) {
      release(lock, dir, createdDir);
      throw e;
    }
  }

  /** Releases the lock; the work folder goes too once nothing of an unfinished run is in it. */
  close(): void {
    removeIfEmpty(join(this.work, 'parts'));
    release(this.lock, this.dir, this.createdDir);
  }

  /** Paths already written or skipped, which a resumed run leaves out. */
  done(): Set<string> {
    return new Set([...this.manifest.rows, ...this.manifest.skipped.map((s) => s.path)]);
  }

  private get keys(): string[] {
    return Object.values(this.manifest.job.nodes);
  }

  private partPath(part: string, key: string): string {
    return join(this.work, 'parts', `${part}.${fileKey(key)}.npy`);
  }

  /** Temporaries, staged files and parts that the manifest does not list: what a killed run was writing. */
  private removeLeftovers(): void {
    const parts = join(this.work, 'parts');
    const listed = new Set(this.manifest.parts.flatMap((p) => this.keys.map((k) => this.partPath(p.file, k))));
    const present = new Set(existsSync(parts) ? readdirSync(parts).map((name) => join(parts, name)) : []);
    const missing = [...listed].filter((path) => !present.has(path));
    if (missing.length > 0) {
      throw new Error(
        `${this.dir} is damaged: its manifest lists ${missing[0]}, which is missing; ` +
          `remove ${this.dir} and run the extract command again, or choose another --out`,
      );
    }
    for (const path of present) if (!listed.has(path)) rmSync(path, { force: true });
    for (const name of readdirSync(this.work)) {
      // The lock, and a lock being taken by a run that is about to find it held.
      if (name !== 'parts' && !name.startsWith('lock')) rmSync(join(this.work, name), { recursive: true, force: true });
    }
  }

  /** The manifest's durable write: its path, its text as it stands, and its temporary. */
  private manifestWrite(): [path: string, data: string, tmp: string] {
    return [join(this.dir, MANIFEST_FILE), JSON.stringify(this.manifest, null, 1), join(this.work, 'manifest.tmp')];
  }

  private saveManifest(): void {
    writeDurably(...this.manifestWrite());
  }

  /** A full disk is said as such: the run is resumable once there is space. */
  private explain(error: unknown): unknown {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') return error;
    return new Error(
      `the disk holding ${this.dir} is full (${(error as Error).message}); free some space and run the same ` +
        `command again: the ${this.manifest.rows.length} images done so far are kept in ${this.work} and ` +
        `will not be redone`,
    );
  }

  /**
   * Writes one batch's arrays as a part, then the manifest that lists it, each with `write`; the
   * caller waits for one batch before adding the next.
   */
  async addBatch(
    paths: string[],
    outputs: Record<string, Tensor>,
    skipped: SkippedPath[],
    write: DurableWrite = writeDurably,
  ): Promise<void> {
    try {
      if (paths.length > 0) {
        const file = `part-${String(this.manifest.parts.length).padStart(6, '0')}`;
        mkdirSync(join(this.work, 'parts'), { recursive: true });
        for (const key of this.keys)
          await write(this.partPath(file, key), saveNpy(outputs[key]!), join(this.work, 'part.tmp'));
        this.manifest.parts.push({ file, rows: paths.length });
        this.manifest.rows.push(...paths);
      }
      this.manifest.skipped.push(...skipped);
      await write(...this.manifestWrite());
    } catch (e) {
      throw this.explain(e);
    }
  }

  /** Joins the parts into the final arrays, one part in memory at a time. */
  finish(): string[] {
    const parts = this.manifest.parts;
    const rows = this.manifest.rows.length;
    const sources =
      rows === 0
        ? []
        : this.keys.map((key): ArraySource => {
            const first = loadNpy(this.partPath(parts[0]!.file, key));
            const shape = [rows, ...first.shape.slice(1)];
            const rowShape = JSON.stringify(first.shape.slice(1));
            const pieces = function* (this: OutputStore): Iterable<Uint8Array> {
              for (const part of parts) {
                const t = loadNpy(this.partPath(part.file, key));
                if (
                  t.shape[0] !== part.rows ||
                  JSON.stringify(t.shape.slice(1)) !== rowShape ||
                  t.dtype !== first.dtype
                ) {
                  throw new Error(
                    `${this.partPath(part.file, key)} is damaged: shape [${t.shape}] where [${part.rows},${rowShape.slice(1)} ` +
                      `was written; remove ${this.dir} and run the extract command again`,
                  );
                }
                yield new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
              }
            };
            return { key, dtype: first.dtype, shape, pieces: pieces.bind(this) };
          });
    return this.complete(sources);
  }

  /** Completes the folder with rows and arrays made elsewhere (`merge`). */
  finishWith(rows: string[], skipped: SkippedPath[], sources: ArraySource[]): string[] {
    this.manifest.rows = rows;
    this.manifest.skipped = skipped;
    return this.complete(sources);
  }

  /**
   * Writes the final files in the work folder, lists them in the manifest, renames them into the
   * folder, and only then marks the manifest complete and removes the parts. Until that last
   * manifest is written the run is unfinished, and a rerun redoes this step from the parts.
   */
  private complete(sources: ArraySource[]): string[] {
    const staging = join(this.work, 'final');
    try {
      mkdirSync(staging, { recursive: true });
      const arrays = writeArrayFiles(staging, this.manifest.job.format, sources);
      const files = [...new Set(arrays.map((a) => a.file))];
      this.manifest.outputs = files;
      this.saveManifest();
      for (const file of files) renameSync(join(staging, file), join(this.dir, file));
      fsyncFolder(this.dir);
      Object.assign(this.manifest, { complete: true, parts: [], arrays });
      this.saveManifest();
      fsyncFolder(this.dir);
      rmSync(join(this.work, 'parts'), { recursive: true, force: true });
      rmSync(staging, { recursive: true, force: true });
      return files;
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      throw this.explain(e);
    }
  }
}
