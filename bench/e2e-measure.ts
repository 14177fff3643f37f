/**
 * A command run and measured as a user feels it: wall time from spawn to exit, and peak memory,
 * both of the largest single process (`/usr/bin/time`'s maximum resident set, or the processes'
 * own VmHWM when `time` is not installed) and of the whole process tree (the sum of proportional
 * set sizes, sampled), because the Python script runs its DataLoader workers as child processes.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measured {
  wallS: number;
  /** The largest process's peak resident set, MB. */
  peakRssMb: number;
  /** The highest sampled sum of proportional set sizes over the process and its descendants, MB. */
  peakTreePssMb: number;
  stdout: string;
}

const TIME = '/usr/bin/time';
const SAMPLE_MS = 100;

/** Every process's parent, from /proc/<pid>/stat (the field after the command name's closing parenthesis). */
function parents(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  return children;
}

function tree(root: number): number[] {
  const children = parents();
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** A field in kB from a /proc file, or 0 once the process has gone. */
function procKb(file: string, field: string): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(file, 'utf8'));
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

/** Runs `command args` with `env` added to this process's, and measures it; throws when it fails. */
export async function runMeasured(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Measured> {
  const withTime = existsSync(TIME);
  const scratch = mkdtempSync(join(tmpdir(), 'featurefx-e2e-time-'));
  const timeFile = join(scratch, 'maxrss');
  const [file, argv] = withTime ? [TIME, ['-f', '%M', '-o', timeFile, command, ...args]] : [command, args];
  const start = performance.now();
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let peakTreePssKb = 0;
  let peakHwmKb = 0;
  const sample = (): void => {
    if (child.pid === undefined) return;
    let pss = 0;
    for (const pid of tree(child.pid)) {
      pss += procKb(`/proc/${pid}/smaps_rollup`, 'Pss');
      // The wrapper's own memory is not the command's.
      if (!(withTime && pid === child.pid)) peakHwmKb = Math.max(peakHwmKb, procKb(`/proc/${pid}/status`, 'VmHWM'));
    }
    peakTreePssKb = Math.max(peakTreePssKb, pss);
  };
  const timer = setInterval(sample, SAMPLE_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const wallS = (performance.now() - start) / 1000;
  clearInterval(timer);
  try {
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stderr.slice(-4000)}`);
    const rssKb = withTime ? Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)) : peakHwmKb;
    return { wallS, peakRssMb: rssKb / 1024, peakTreePssMb: peakTreePssKb / 1024, stdout };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
