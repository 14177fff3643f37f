/** `--shard K/N`: which part of the sorted input list one run takes. */

export interface Shard {
  index: number;
  count: number;
}

/** `K/N`, or `N` with K from JOB_COMPLETION_INDEX (as a Kubernetes Indexed Job sets it). */
export function parseShard(spec: string | undefined): Shard | undefined {
  const fromEnv = process.env.JOB_COMPLETION_INDEX;
  if (spec === undefined && fromEnv === undefined) return undefined;
  const match = /^(?:(\d+)\/)?(\d+)$/.exec(spec ?? '');
  const k = match?.[1] ?? fromEnv;
  const index = k !== undefined && /^\d+$/.test(k) ? Number(k) : NaN;
  const count = Number(match?.[2]);
  if (!(count >= 1 && index >= 0 && index < count)) {
    throw new RangeError(
      `invalid --shard '${spec ?? ''}' (JOB_COMPLETION_INDEX=${fromEnv ?? 'unset'}): expected K/N, or N with ` +
        `K in JOB_COMPLETION_INDEX, where K and N are whole numbers and 0 <= K < N (e.g. --shard 2/8)`,
    );
  }
  return { index, count };
}

export const formatShard = (shard: Shard | null): string => (shard === null ? 'none' : `${shard.index}/${shard.count}`);
