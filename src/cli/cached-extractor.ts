/**
 * The compiled feature extractor `extract` runs, built only when the on-disk cache cannot serve it.
 *
 * Building it means reading the weights, tracing, lowering and encoding the graph (about 0.5 s for
 * resnet50) just to compute the key of ONNX Runtime's cached optimised model. So the first process
 * also records a shortcut (model-cache.ts) under a key a later process computes without any of
 * that: featurefx's code (code-identity.ts), the model's name, the nodes, the weights' SHA-256
 * (remembered by file identity, file-digest.ts) and the batch's dtype and shape, with ONNX
 * Runtime's version and the platform. A later process with the same key loads the entry directly;
 * the entry's own checksum is checked as always, and anything missing or unloadable falls back to
 * building the model, so a shortcut can cost a rebuild but never give other numbers.
 */
import { compile, type CompiledModule } from '../fx/compile.js';
import { fileIdentity, fileSha256 } from '../io/file-digest.js';
import { sessionFromEntry } from '../runtime/cached-session.js';
import { codeIdentity } from '../runtime/code-identity.js';
import { type Shortcut, readShortcut, resolveCacheDir, shortcutKey, writeShortcut } from '../runtime/model-cache.js';
import type { NativeSession } from '../runtime/native-session.js';
import { getNumThreads } from '../runtime/threads.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { buildExtractor, loadModel, parseNodes } from './model-setup.js';

/** `extract`'s optimisation level, as compile's default. */
const LEVEL = 'all';

/** Counts for tests and diagnostics: batches a shortcut's entry ran without the model being built. */
export const cachedExtractorStats = { shortcutRuns: 0 };

/** A batch [N, 3, H, W] in, the features of each output key out. */
export type ExtractorRun = (batch: Tensor) => Record<string, Tensor>;

/**
 * The extractor of `nodes` of model `name` with `weights`, compiled. With weights and the cache
 * on, each batch shape a shortcut is recorded for runs its cached entry without building the
 * model; random weights never come again, so they are neither cached nor shortcut.
 */
export function cachedExtractor(name: string, weights: string | undefined, nodes: string): ExtractorRun {
  const cacheDir = weights === undefined ? undefined : resolveCacheDir(true);
  let compiled: CompiledModule | undefined;
  const build = (): CompiledModule =>
    (compiled ??= compile(buildExtractor(loadModel(name, weights).model, nodes), {
      cache: cacheDir === undefined ? false : { dir: cacheDir },
    }));
  if (cacheDir === undefined) {
    const module = build();
    return (batch) => module.call(batch) as Record<string, Tensor>;
  }
  // The weights as they were when their digest was taken: a shortcut is recorded only if the model
  // was built from the same file (its identity unchanged since).
  const weightsIdentity = fileIdentity(weights!);
  const job = [codeIdentity(), name, JSON.stringify(parseNodes(nodes)), fileSha256(weights!, cacheDir)];
  /** Sessions of the entries used, by entry key: batch shapes that share a graph share one. */
  const sessions = new Map<string, NativeSession>();
  const fromEntry = (shortcut: Shortcut): NativeSession | undefined => {
    let session = sessions.get(shortcut.entry);
    if (session === undefined) {
      session = sessionFromEntry(cacheDir, shortcut.entry, {
        intraOpNumThreads: getNumThreads(),
        graphOptimizationLevel: LEVEL,
      });
      if (session !== undefined) sessions.set(shortcut.entry, session);
    }
    return session;
  };
  /** Shortcuts recorded by this process. */
  const recorded = new Set<string>();
  /** Each batch signature's shortcut key and the shortcut read for it: once, not at every batch. */
  const lookups = new Map<string, { key: string; shortcut: Shortcut | undefined }>();
  return (batch) => {
    const signature = `${batch.dtype} ${batch.shape.join(',')}`;
    let lookup = lookups.get(signature);
    if (lookup === undefined) {
      const key = shortcutKey([...job, batch.dtype, batch.shape.join(',')], LEVEL);
      lookup = { key, shortcut: compiled === undefined ? readShortcut(cacheDir, key) : undefined };
      lookups.set(signature, lookup);
    }
    const key = lookup.key;
    // Once the model is built, it serves every batch: no second copy of the weights is loaded.
    const shortcut = compiled === undefined ? lookup.shortcut : undefined;
    const session = shortcut === undefined ? undefined : fromEntry(shortcut);
    if (session !== undefined && shortcut!.outputs.every(([, i]) => i < session.outputNames.length)) {
      const raw = session.run([{ type: batch.dtype, dims: batch.shape, data: batch.data }]);
      cachedExtractorStats.shortcutRuns++;
      return Object.fromEntries(
        shortcut!.outputs.map(([k, i]) => {
          const r = raw[i]!;
          return [k, new Tensor(r.type as DType, r.dims, r.data as Tensor['data'])];
        }),
      );
    }
    const module = build();
    const out = module.call(batch) as Record<string, Tensor>;
    // Recorded once per shape, and only if the weights are unchanged (a stat, skipped once recorded).
    const toRecord = !recorded.has(key) && weightsIdentity !== undefined && fileIdentity(weights!) === weightsIdentity;
    const plan = toRecord ? module.sessionPlan(batch) : undefined;
    if (plan !== undefined) {
      writeShortcut(cacheDir, key, plan);
      recorded.add(key);
    }
    return out;
  };
}
