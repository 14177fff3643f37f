/** Suggestions for a mistyped node name: the existing names nearest by edit distance. */

function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, row[j]!);
    }
    if (best > limit) return limit + 1;
    prev = row;
  }
  return prev[b.length]!;
}

/** Up to `count` names closest to `query`, nearest first. */
export function closestNames(query: string, names: Iterable<string>, count = 5): string[] {
  const limit = Math.max(3, Math.ceil(query.length / 2));
  const scored: [number, string][] = [];
  for (const name of new Set(names)) {
    const d = editDistance(query, name, limit);
    if (d <= limit) scored.push([d, name]);
  }
  return scored
    .sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]))
    .slice(0, count)
    .map(([, n]) => n);
}
