/**
 * The input walk: image files named on the command line or found in folders (recursively, links
 * followed). Anything that is not a readable regular file is skipped with a reason instead of
 * stopping the run, and is never opened: a FIFO named `b.png` would block a reader forever.
 */
import { type Dirent, type Stats, accessSync, constants, readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { IMAGE_EXTENSIONS } from './images.js';

export interface SkippedPath {
  path: string;
  reason: string;
}

export interface InputWalk {
  /** Absolute paths, sorted with `inputOrder`: the order of the output rows. */
  files: string[];
  skipped: SkippedPath[];
}

/** Sorts paths by UTF-16 code units; `merge` puts shards' rows back in this order. */
export function inputOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function problem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'a symbolic link to nothing (dangling)';
  if (code === 'ELOOP') return 'a symbolic link loop';
  return error instanceof Error ? error.message : String(error);
}

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

export function walkInputs(inputs: readonly string[]): InputWalk {
  const files = new Set<string>();
  const skipped: SkippedPath[] = [];
  // Folders by device and inode: a link back to a folder already walked (`self -> .`) is a loop.
  const walked = new Map<string, string>();
  const skip = (path: string, reason: string): void => void skipped.push({ path: resolve(path), reason });

  const visit = (path: string, named: boolean): void => {
    let stat: Stats;
    try {
      stat = statSync(path);
    } catch (e) {
      if (named && (e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(`no such file or folder: ${path}`, { cause: e });
      return skip(path, problem(e));
    }
    if (stat.isDirectory()) return walkFolder(path, stat);
    if (!stat.isFile()) return skip(path, `${kindOf(stat)}, not an image file`);
    try {
      accessSync(path, constants.R_OK);
    } catch (e) {
      return skip(path, problem(e));
    }
    files.add(resolve(path));
  };

  const walkFolder = (path: string, stat: Stats): void => {
    const id = `${stat.dev}:${stat.ino}`;
    const seen = walked.get(id);
    if (seen !== undefined) return skip(path, `a link to ${seen}, which is walked already (a loop or a second link)`);
    walked.set(id, resolve(path));
    let entries: Dirent[];
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch (e) {
      return skip(path, problem(e));
    }
    // In name order, so that which of two links to one folder is walked does not depend on the file system.
    for (const entry of entries.sort((x, y) => inputOrder(x.name, y.name))) {
      // Folders and links are followed whatever their names (a link may lead to a folder);
      // other files count only with an image extension.
      if (entry.isDirectory() || entry.isSymbolicLink() || IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase()))
        visitEntry(join(path, entry.name), entry);
    }
  };

  const visitEntry = (path: string, entry: Dirent): void => {
    if (entry.isSymbolicLink() && !IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
      // A link without an image extension matters only if it leads to a folder.
      let target: Stats;
      try {
        target = statSync(path);
      } catch (e) {
        return skip(path, problem(e));
      }
      if (target.isDirectory()) walkFolder(path, target);
      return;
    }
    visit(path, false);
  };

  inputs.forEach((input) => visit(input, true));
  return { files: [...files].sort(inputOrder), skipped };
}
