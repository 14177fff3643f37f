/**
 * The output folder of `detect`: `<stem>.png` and `<stem>.json` per image. featurefx never
 * overwrites a file there: a folder already holding one of the names a run would write is refused
 * before anything is written. As `extract` does, each file is written to a temporary inside
 * `.featurefx-work/` (which holds the run's lock), flushed, and renamed into place, the picture
 * before the JSON: a run stopped at any point leaves whole files, and an image with its JSON is done.
 */
import { accessSync, constants, existsSync, readdirSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { OutputLock } from './output-lock.js';
import { WORK_FOLDER, writeDurably } from './output-store.js';

/** Each image's file stem (its name without the extension), refusing two images that would share one. */
export function outputStems(images: readonly string[]): Map<string, string> {
  const stems = new Map<string, string>();
  const byStem = new Map<string, string>();
  for (const image of images) {
    const stem = basename(image, extname(image));
    // Case-insensitive file systems would write both to one file.
    const other = byStem.get(stem.toLowerCase());
    if (other !== undefined) {
      throw new Error(
        `${other} and ${image} would both be written as ${stem}.json and ${stem}.png; ` +
          'detect them in two runs with different --out folders, or rename one',
      );
    }
    byStem.set(stem.toLowerCase(), image);
    stems.set(image, stem);
  }
  return stems;
}

const filesOf = (stem: string): string[] => [`${stem}.png`, `${stem}.json`];

/** The first of the folders from `dir` up that exists: where a new `dir` would be made. */
function existingAncestor(dir: string): string {
  let path = resolve(dir);
  while (!existsSync(path) && dirname(path) !== path) path = dirname(path);
  return path;
}

/**
 * Refuses `dir` (before the model is loaded and anything is written) when it is a file, cannot be
 * written to, or already holds a file this run would write.
 */
export function checkOutFolder(dir: string, stems: Iterable<string>): void {
  const base = existingAncestor(dir);
  if (!statSync(base).isDirectory()) throw new Error(`--out ${dir}: ${base} is a file; give a folder`);
  try {
    accessSync(base, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new Error(`--out ${dir}: cannot write into ${base} (permission denied); choose another --out`, {
      cause: e,
    });
  }
  if (base !== resolve(dir)) return;
  const present = new Set(readdirSync(dir));
  const clashes = [...stems].flatMap(filesOf).filter((name) => present.has(name));
  if (clashes.length > 0) {
    const shown = clashes.slice(0, 4).join(', ') + (clashes.length > 4 ? `, and ${clashes.length - 4} more` : '');
    throw new Error(
      `--out ${dir} already holds ${shown}; featurefx does not overwrite files: choose a new --out folder, ` +
        'or remove those files',
    );
  }
}

export class DetectionFolder {
  private constructor(
    readonly dir: string,
    private readonly work: string,
    private readonly lock: OutputLock,
    private readonly createdDir: boolean,
  ) {}

  /** Makes `dir` if needed and takes its lock; checks again, under the lock, that no file would be overwritten. */
  static open(dir: string, stems: Iterable<string>): DetectionFolder {
    checkOutFolder(dir, stems);
    const createdDir = !existsSync(dir);
    const work = join(dir, WORK_FOLDER);
    const lock = OutputLock.acquire(work, dir);
    try {
      checkOutFolder(dir, stems);
      // Temporaries of a run that was killed.
      for (const name of readdirSync(work)) if (name.endsWith('.tmp')) rmSync(join(work, name), { force: true });
    } catch (e) {
      new DetectionFolder(dir, work, lock, createdDir).close();
      throw e;
    }
    return new DetectionFolder(dir, work, lock, createdDir);
  }

  /** Writes one image's picture, then its JSON. */
  write(stem: string, png: Uint8Array, json: string): void {
    writeDurably(join(this.dir, `${stem}.png`), png, join(this.work, 'png.tmp'));
    writeDurably(join(this.dir, `${stem}.json`), json, join(this.work, 'json.tmp'));
  }

  /** Releases the lock and removes the work folder, and `dir` if this run made it and wrote nothing. */
  close(): void {
    this.lock.release();
    for (const folder of [this.work, ...(this.createdDir ? [this.dir] : [])]) {
      try {
        rmdirSync(folder);
      } catch {
        // Not empty: another run's lock being taken, or the files written.
      }
    }
  }
}
