/**
 * Return nodes as users give them (a list, or a map to output keys; full or truncated names), and
 * how they match the names of a graph. Shared by feature extraction from traced modules and from
 * ONNX files (src/onnx/onnx-model.ts), so this file imports only errors and the name distance.
 */
import { FeatureExtractionError } from '../errors.js';
import { closestNames } from './closest-names.js';

/** Node names (full or truncated) to return: a list, or a map from node name to output key. */
export type ReturnNodes = readonly string[] | Readonly<Record<string, string>>;

/** Normalises a list or map of return nodes to a Map from node name to output key, checking types. */
export function toNodeMap(spec: ReturnNodes, label: string): Map<string, string> {
  const entries: [unknown, unknown][] = Array.isArray(spec)
    ? (spec as unknown[]).map((n) => [n, n])
    : typeof spec === 'object' && spec !== null
      ? Object.entries(spec)
      : [];
  if (!Array.isArray(spec) && (typeof spec !== 'object' || spec === null)) {
    throw new FeatureExtractionError(`${label} must be an array of node names or an object mapping node names to keys`);
  }
  if (entries.length === 0) throw new FeatureExtractionError(`${label} is empty: name at least one node`);
  const map = new Map<string, string>();
  const keys = new Map<string, string>();
  for (const [node, key] of entries) {
    if (typeof node !== 'string' || typeof key !== 'string') {
      throw new FeatureExtractionError(
        `${label}: node names and output keys must be strings, got ${String(node)} -> ${String(key)}`,
      );
    }
    if (map.has(node)) throw new FeatureExtractionError(`${label} names node '${node}' twice`);
    const other = keys.get(key);
    if (other !== undefined) {
      throw new FeatureExtractionError(`${label} maps both '${other}' and '${node}' to the output key '${key}'`);
    }
    map.set(node, key);
    keys.set(key, node);
  }
  return map;
}

/** Whether `name` is `query` or lies below it (`layer1` covers `layer1.0.conv1`, not `layer10`). */
export function isUnder(name: string, query: string): boolean {
  return name === query || (name.startsWith(query) && name[query.length] === '.');
}

/**
 * The index of the node a full or truncated name returns from an ONNX file's nodes (in execution
 * order): the last one at or under `query`, as `OnnxModel.select` resolves it; -1 when none is.
 */
export function lastNodeUnder(names: readonly string[], query: string): number {
  let last = names.length - 1;
  while (last >= 0 && !isUnder(names[last]!, query)) last--;
  return last;
}

/**
 * The error for a node name that matches none of `available`, with the closest names (and
 * prefixes). `where` completes "is not present in ..."; `listing` says how to list the names.
 */
export function missingNodeError(
  query: string,
  available: readonly string[],
  where: string,
  listing: string,
): FeatureExtractionError {
  const candidates = new Set<string>();
  for (const name of available) {
    candidates.add(name);
    for (let i = name.indexOf('.'); i >= 0; i = name.indexOf('.', i + 1)) candidates.add(name.slice(0, i));
  }
  const close = closestNames(query, candidates);
  return new FeatureExtractionError(
    `node '${query}' is not present in ${where}.` +
      (close.length > 0 ? ` Closest names: ${close.map((n) => `'${n}'`).join(', ')}.` : '') +
      ` ${listing}`,
  );
}
