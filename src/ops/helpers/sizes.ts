/** Size lists in shape ops: checking and resolving a -1, as `reshape` and `view` do. */
import { formatShape, numel } from '../../tensor/shape.js';

/** The target shape with its -1 resolved; an error names the op when sizes do not fit. */
export function resolveShape(op: string, from: readonly number[], to: readonly number[]): number[] {
  if (!Array.isArray(to) || to.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new TypeError(`[${op}] shape must be a list of integers (one may be -1), got ${JSON.stringify(to)}`);
  }
  const inferred = to.filter((d) => d === -1).length;
  if (inferred > 1) throw new RangeError(`[${op}] only one dimension can be -1, got ${formatShape(to)}`);
  const total = numel(from);
  const known = to.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : total / known) : d));
  if (numel(out) !== total || out.some((d) => !Number.isInteger(d))) {
    throw new RangeError(`[${op}] cannot reshape ${formatShape(from)} (${total} elements) into ${formatShape(to)}`);
  }
  return out;
}
