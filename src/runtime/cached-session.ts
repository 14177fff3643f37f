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

export function createCachedSession(
  model: Uint8Array,
  options: NativeSessionOptions,
  cacheDir: string | undefined,
): NativeSession {
  if (cacheDir === undefined || model.length > MAX_CACHED_MODEL_BYTES) return new NativeSession(model, options);
  const key = cacheKey(model, options.graphOptimizationLevel);
  const entry = readEntry(cacheDir, key);
  if (entry !== undefined) {
    try {
      // The entry is optimised already: optimising it again would only cost time.
      const session = new NativeSession(entry.bytes, {
        ...options,
        graphOptimizationLevel: 'disabled',
        ortFormat: true,
      });
      modelCacheStats.hits++;
      return session;
    } catch {
      discardEntry(entry.path);
    }
  }
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
  commitEntry(cacheDir, key, temporary);
  return session;
}
