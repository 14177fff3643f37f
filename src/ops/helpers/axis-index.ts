/** Index lists for backward rules that act on one axis. */
import type { Tensor } from '../../tensor/tensor.js';
import { type IndexItem, type Slice, slice } from '../getitem.js';

/** The index `x[:, ..., :, item]` with `item` at `axis` (later axes untouched). */
export function alongAxis(axis: number, item: number | Slice | Tensor): IndexItem<Tensor>[] {
  return [...Array.from({ length: axis }, () => slice()), item];
}
