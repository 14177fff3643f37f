/**
 * An on-disk cache of the models ONNX Runtime optimised, so that a later process loads the
 * optimised graph (constant folding, fusions, layouts done) instead of optimising again.
 *
 * The key is a SHA-256 of the ONNX bytes given to ORT (they hold every node and every weight, so a
 * changed graph or weight can never be served a stale entry) with what else shapes the optimised
 * graph: the ORT version, the optimisation level, and the platform and CPU (the 'all' level lays
 * tensors out for the CPU's vector width). Threads do not change the graph and are not in it.
 *
 * An entry is `<key>-<checksum of its bytes>.ort` (checksum.ts), the optimised model in ORT's format (it loads
 * without parsing or copying weights): ORT writes a temporary file in the same folder,
 * which is then renamed (atomic), so concurrent writers never leave a half-written entry under an
 * entry's name, and a reader checks the bytes against the checksum in the name, so an entry
 * truncated or damaged later is deleted and rebuilt instead of giving wrong numbers.
 *
 * A shortcut (`<key>.shortcut.json`) names the entry that serves a computation described without
 * its ONNX bytes, so that a later process need not build the model to find its entry; its key
 * must name everything the bytes are made from (src/cli/cached-extractor.ts says what it uses).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  mkdirSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, homedir } from 'node:os';
import { join } from 'node:path';
import { checksum } from './checksum.js';

const require = createRequire(import.meta.url);

/** Bumped when what an entry holds, or how the key is made, changes. */
const FORMAT = 'featurefx-ort-cache-3';
/** Entries beyond this total size are evicted, least recently used first. */
const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;
/** ORT writes an optimised model as one protobuf, which cannot pass 2 GiB: larger models are not cached. */
export const MAX_CACHED_MODEL_BYTES = 1.5 * 1024 ** 3;
const ENTRY = /^([0-9a-f]{64})-([0-9a-f]{32})\.ort$/;
const KEY = /^[0-9a-f]{64}$/;
const SHORTCUT_SUFFIX = '.shortcut.json';

/** What `compile`'s `cache` option takes: on (the platform's folder), off, or a folder. */
export type ModelCacheOption = boolean | { dir: string };

/** Process-wide counts, for tests and diagnostics: sessions loaded from entries, entries written, bad ones deleted. */
export const modelCacheStats = { hits: 0, writes: 0, corrupt: 0 };

/**
 * The platform's cache folder for featurefx: `FEATUREFX_CACHE_DIR` if set; else
 * `$XDG_CACHE_HOME/featurefx` or `~/.cache/featurefx` on Linux, `~/Library/Caches/featurefx` on
 * macOS, `%LOCALAPPDATA%\featurefx\cache` on Windows.
 */
// Plain types, not NodeJS.ProcessEnv: the declarations users install must not need @types/node.
export function defaultCacheDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: string = process.platform,
): string {
  if (env.FEATUREFX_CACHE_DIR) return env.FEATUREFX_CACHE_DIR;
  if (platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'featurefx');
  if (platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'featurefx', 'cache');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'featurefx');
}

/** The folder an option selects, or undefined when caching is off (`FEATUREFX_NO_CACHE=1` turns it off everywhere). */
export function resolveCacheDir(option: ModelCacheOption | undefined): string | undefined {
  if (option === undefined || option === false || process.env.FEATUREFX_NO_CACHE === '1') return undefined;
  return option === true ? defaultCacheDir() : option.dir;
}

function installedOrtVersion(): string {
  return (require('onnxruntime-node/package.json') as { version: string }).version;
}

/** What besides the model shapes ORT's optimised graph. */
function optimisationContext(level: string, ortVersion: string): string {
  return [FORMAT, ortVersion, level, process.platform, process.arch, cpus()[0]?.model ?? ''].join('\n');
}

/** The entry key of an ONNX model optimised at `level` by ONNX Runtime `ortVersion` (the installed one). */
export function cacheKey(model: Uint8Array, level: string, ortVersion = installedOrtVersion()): string {
  return createHash('sha256').update(optimisationContext(level, ortVersion)).update('\n').update(model).digest('hex');
}

/**
 * A shortcut to an entry: which entry serves a computation, and which of its session's outputs
 * is which of the computation's, recorded by the process that built the model so that a later
 * one can run the entry without building it (src/cli/cached-extractor.ts).
 */
export interface Shortcut {
  /** The entry's key. */
  entry: string;
  /** Output key and the index of the session output holding it, in output order. */
  outputs: [string, number][];
}

/**
 * The key of a shortcut for the computation `identity` describes (everything its ONNX model is
 * made from: featurefx's code, the model, the weights' digest, the input signature...), optimised
 * at `level` by the installed ONNX Runtime on this platform, as the entry it leads to was.
 */
export function shortcutKey(identity: readonly string[], level: string, ortVersion = installedOrtVersion()): string {
  return createHash('sha256')
    .update(optimisationContext(level, ortVersion))
    .update('\nshortcut\n')
    .update(JSON.stringify(identity))
    .digest('hex');
}

function isShortcut(value: unknown): value is Shortcut {
  const { entry, outputs } = (value ?? {}) as Partial<Shortcut>;
  return (
    typeof entry === 'string' &&
    KEY.test(entry) &&
    Array.isArray(outputs) &&
    outputs.every(
      (o) => Array.isArray(o) && o.length === 2 && typeof o[0] === 'string' && Number.isInteger(o[1]) && o[1] >= 0,
    )
  );
}

/** The shortcut of `key`, if one was recorded; one that does not parse as a shortcut is deleted. */
export function readShortcut(dir: string, key: string): Shortcut | undefined {
  const path = join(dir, `${key}${SHORTCUT_SUFFIX}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (isShortcut(value)) return value;
  } catch {
    // Not JSON: deleted below, as a shortcut of the wrong form is.
  }
  remove(path);
  return undefined;
}

/** Records a shortcut (a temporary file renamed: readers see all of it or nothing); failures only mean none. */
export function writeShortcut(dir: string, key: string, shortcut: Shortcut): void {
  let temporary: string | undefined;
  try {
    temporary = temporaryPath(dir, key);
    writeFileSync(temporary, JSON.stringify(shortcut));
    renameSync(temporary, join(dir, `${key}${SHORTCUT_SUFFIX}`));
  } catch {
    if (temporary !== undefined) remove(temporary);
  }
}

/** The optimised model of `key` and its path, after checking its bytes; a damaged entry is deleted. */
export function readEntry(dir: string, key: string): { bytes: Uint8Array; path: string } | undefined {
  for (const name of entryNames(dir)) {
    const match = ENTRY.exec(name);
    if (match?.[1] !== key) continue;
    const path = join(dir, name);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch {
      continue;
    }
    if (checksum(bytes) === match[2]) {
      touch(path);
      return { bytes, path };
    }
    discardEntry(path);
  }
  return undefined;
}

/** A fresh path in `dir` for ORT to write an optimised model to (the folder is created). */
export function temporaryPath(dir: string, key: string): string {
  mkdirSync(dir, { recursive: true });
  return join(dir, `${key}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Makes the file ORT wrote at `temporary` the entry of `key` (a rename, so readers see all of it
 * or nothing), then evicts the least recently used entries past `maxBytes`. Failures only mean
 * no entry (false): the session is already built.
 */
export function commitEntry(dir: string, key: string, temporary: string, maxBytes = DEFAULT_MAX_BYTES): boolean {
  let name: string;
  try {
    name = `${key}-${checksum(readFileSync(temporary))}.ort`;
    renameSync(temporary, join(dir, name));
    modelCacheStats.writes++;
  } catch {
    abandonTemporary(temporary);
    return false;
  }
  // ORT's bytes differ between builds, so a concurrent writer of the key left another name: one is enough.
  for (const other of entryNames(dir)) if (other.startsWith(key) && other !== name) remove(join(dir, other));
  evict(dir, maxBytes);
  return true;
}

/** Deletes a temporary file that did not become an entry (if ORT wrote it at all). */
export function abandonTemporary(temporary: string): void {
  remove(temporary);
}

/** The names of the folder's entries (none if it cannot be read). */
function entryNames(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => ENTRY.test(name));
  } catch {
    return [];
  }
}

function evict(dir: string, maxBytes: number): void {
  let entries: { path: string; size: number; used: number }[];
  try {
    entries = entryNames(dir).map((name) => {
      const path = join(dir, name);
      const s = statSync(path);
      return { path, size: s.size, used: s.mtimeMs };
    });
  } catch {
    return;
  }
  entries.sort((a, b) => b.used - a.used);
  let total = 0;
  for (const e of entries) {
    total += e.size;
    if (total > maxBytes) remove(e.path);
  }
}

/** Marks an entry as just used, for eviction by least recent use. */
function touch(path: string): void {
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    // A read-only cache still serves its entries.
  }
}

/** Deletes a damaged entry: bytes that do not match their checksum, or that ORT cannot load. */
export function discardEntry(path: string): void {
  modelCacheStats.corrupt++;
  remove(path);
}

function remove(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Another process removed it first.
  }
}
