/** Starting the CLI's worker threads, from the built package or from the sources. */
import { Worker } from 'node:worker_threads';

/** A worker's entry in this folder: `name`.js when built, `name`.ts in the sources. */
export function workerEntry(name: string): URL {
  return new URL(`./${name}.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
}

/**
 * Starts a worker on `entry`. From the sources (tests run under `node --import tsx`), Node 20's
 * workers do not inherit the module hooks of `--import`, so a TypeScript entry registers tsx's
 * before it is imported.
 */
export function startWorker(entry: URL, workerData: unknown): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const code = `import(${tsx}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(entry.href)}))`;
  return new Worker(code, { eval: true, workerData });
}
