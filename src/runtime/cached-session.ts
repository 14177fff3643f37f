/**
 * A session whose optimised model comes from the on-disk cache (model-cache.ts) when an entry
 * exists, and is written to it when not. With no cache folder it is a plain session.
 */
import {
  MAX_CACHED_MODEL_BYTES,
  abandonTemporary,
  cacheKey,
  commitEntry,
  discardEntry,
  modelCacheStats,
  readEntry,
  temporaryPath,
} from './model-cache.js';
import { NativeSession, type NativeSessionOptions } from './native-session.js';

/** The entry key of each session built from, or written to, the cache. */
const entryKeys = new WeakMap<NativeSession, string>();

/** The key of the cache entry `session` was loaded from or written to, if any. */
export function cacheEntryOf(session: NativeSession): string | undefined {
  return entryKeys.get(session);
}

/**
 * A session of the entry `key`, if the folder holds a sound one; an entry ORT cannot load is
 * deleted. Threads are `options`'; the entry is optimised already, so it is not optimised again.
 */
export function sessionFromEntry(
  cacheDir: string,
  key: string,
  options: NativeSessionOptions,
): NativeSession | undefined {
  const entry = readEntry(cacheDir, key);
  if (entry === undefined) return undefined;
  let session: NativeSession;
  try {
    session = new NativeSession(entry.bytes, { ...options, graphOptimizationLevel: 'disabled', ortFormat: true });
  } catch {
    discardEntry(entry.path);
    return undefined;
  }
  modelCacheStats.hits++;
  entryKeys.set(session, key);
  return session;
}

export function createCachedSession(
  model: Uint8Array,
  options: NativeSessionOptions,
  cacheDir: string | undefined,
): NativeSession {
  if (cacheDir === undefined || model.length > MAX_CACHED_MODEL_BYTES) return new NativeSession(model, options);
  const key = cacheKey(model, options.graphOptimizationLevel);
  const cached = sessionFromEntry(cacheDir, key, options);
  if (cached !== undefined) return cached;
  let temporary: string;
  try {
    temporary = temporaryPath(cacheDir, key);
  } catch {
    // An unwritable cache folder costs the cache, not the run.
    return new NativeSession(model, options);
  }
  let session: NativeSession;
  try {
    session = new NativeSession(model, { ...options, optimizedModelFilePath: temporary });
  } catch {
    // ORT may fail writing the optimised model (a full disk): build without it, so that only a
    // real error in the model is thrown, by the build below.
    abandonTemporary(temporary);
    return new NativeSession(model, options);
  }
  if (commitEntry(cacheDir, key, temporary)) entryKeys.set(session, key);
  return session;
}
