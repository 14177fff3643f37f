/** Dimension arguments shared by reductions and softmax-like ops. */
import { normalizeDim } from '../../tensor/shape.js';

/** `dim` as a sorted list of non-negative axes; undefined means every axis. */
export function reductionAxes(op: string, dim: number | readonly number[] | undefined, rank: number): number[] {
  if (dim === undefined) return Array.from({ length: rank }, (_, i) => i);
  const dims = typeof dim === 'number' ? [dim] : [...dim];
  const axes = dims.map((d) => normalizeDim(d, rank, op));
  if (new Set(axes).size !== axes.length) throw new RangeError(`[${op}] dim ${JSON.stringify(dim)} repeats an axis`);
  return axes.sort((a, b) => a - b);
}

/** The shape after reducing `axes`. */
export function reducedShape(shape: readonly number[], axes: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}
