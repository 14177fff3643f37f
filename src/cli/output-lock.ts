/**
 * One writer per output folder: a lock file holding the writer's pid, created atomically (a hard
 * link of a file already holding the pid, so that a reader never sees it empty). A lock whose
 * process has died is stale and taken over.
 */
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function isRunning(pid: number): boolean {
  if (pid === process.pid) return false; // a lock left by an earlier process that had our pid
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, but another user's
  }
}

function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export class OutputLock {
  private constructor(readonly path: string) {}

  /** Takes the lock `<workDir>/lock` for `outDir`, or says which process holds it. */
  static acquire(workDir: string, outDir: string): OutputLock {
    const path = join(workDir, 'lock');
    const mine = join(workDir, `lock-${process.pid}.tmp`);
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        mkdirSync(workDir, { recursive: true });
        writeFileSync(mine, `${process.pid}\n`);
        linkSync(mine, path);
        return new OutputLock(path);
      } catch (e) {
        // ENOENT: a run that finished removed the work folder meanwhile; try again.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' && (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      } finally {
        rmSync(mine, { force: true });
      }
      const holder = holderOf(path);
      if (holder !== undefined && isRunning(holder)) {
        throw new Error(
          `another featurefx (pid ${holder}) is writing to ${outDir}; wait for it to end, or choose another --out ` +
            `(if no featurefx is running, remove ${path})`,
        );
      }
      // Two runs finding one stale lock at the same moment could both remove it and both link;
      // that needs a crash and two restarts within a millisecond, which a job scheduler does not do.
      if (holder !== undefined)
        process.stderr.write(`featurefx: taking over ${path} from pid ${holder}, which is no longer running\n`);
      rmSync(path, { force: true });
    }
    throw new Error(`cannot take the lock ${path}: it keeps changing; is another featurefx starting on ${outDir}?`);
  }

  /** Removes the lock (the work folder it lies in is the store's to remove). */
  release(): void {
    rmSync(this.path, { force: true });
  }
}
