/**
 * Hand-made `torch.save` archives for the weight loader's tests: a pickle that describes tensors
 * by storage, offset, size and stride (any values, hostile ones included), stored in a zip that
 * switches to zip64 records when an offset or size needs it. An entry may be a hole: its bytes
 * are never written, so an archive of several GiB takes almost no disk (a sparse file).
 * Written entries carry their CRC, so that PyTorch itself can load a small archive; holes have none.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { contiguousStrides } from '../../src/tensor/shape.js';
import type { Tensor } from '../../src/tensor/tensor.js';

export interface TensorSpec {
  storage: string;
  /** torch's storage class; FloatStorage when not given. */
  type?: string;
  offset: number | bigint;
  size: (number | bigint)[];
  stride: (number | bigint)[];
  /** The storage's element count in the persistent id (torch reads that many); 0 when not given. */
  storageNumel?: number;
}

/** A zip entry: its bytes, or a hole of `size` zero bytes that is never written. */
export type ArchiveEntry = { name: string; data: Uint8Array } | { name: string; size: number };

class PickleWriter {
  private readonly bytes: number[] = [0x80, 0x02];

  op(...codes: number[]): this {
    this.bytes.push(...codes);
    return this;
  }

  text(s: string): this {
    const utf8 = new TextEncoder().encode(s);
    return this.op(0x58, ...le(utf8.length, 4), ...utf8);
  }

  /** LONG1 with 16 bytes of two's complement: any integer a hostile file may hold, negative or past 2^64. */
  int(v: number | bigint): this {
    const b = Array.from({ length: 16 }, (_, i) => Number((BigInt(v) >> BigInt(8 * i)) & 0xffn));
    return this.op(0x8a, 16, ...b);
  }

  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }

  tuple(items: (number | bigint)[]): this {
    this.op(0x28);
    for (const v of items) this.int(v);
    return this.op(0x74);
  }

  done(): Uint8Array {
    return Uint8Array.from([...this.bytes, 0x2e]);
  }
}

function le(value: number, bytes: 2 | 4 | 8): number[] {
  const b = new Uint8Array(bytes);
  const view = new DataView(b.buffer);
  if (bytes === 2) view.setUint16(0, value, true);
  else if (bytes === 4) view.setUint32(0, value, true);
  else view.setBigUint64(0, BigInt(value), true);
  return [...b];
}

/** The `data.pkl` of a state dict `{ key: torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) }`. */
export function statePickle(tensors: [string, TensorSpec][]): Uint8Array {
  const p = new PickleWriter().op(0x7d, 0x28); // EMPTY_DICT, MARK
  for (const [key, t] of tensors) {
    p.text(key).global('torch._utils', '_rebuild_tensor_v2').op(0x28); // MARK of the arguments
    p.op(0x28)
      .text('storage')
      .global('torch', t.type ?? 'FloatStorage')
      .text(t.storage)
      .text('cpu')
      .int(t.storageNumel ?? 0);
    p.op(0x74, 0x51); // TUPLE, BINPERSID
    p.int(t.offset).tuple(t.size).tuple(t.stride).op(0x89); // requires_grad=False
    p.global('collections', 'OrderedDict').op(0x29, 0x52); // OrderedDict() for the backward hooks
    p.op(0x74, 0x52); // TUPLE, REDUCE
  }
  return p.op(0x75).done(); // SETITEMS
}

/** A pickle that asks for one global and stops: refused or not, nothing else happens. */
export function globalPickle(module: string, name: string): Uint8Array {
  return new PickleWriter().global(module, name).done();
}

const SATURATED = 0xffffffff;

/** Where each piece of the archive goes, and its total size. */
function layOut(entries: ArchiveEntry[]): { pieces: [number, Uint8Array][]; size: number } {
  const pieces: [number, Uint8Array][] = [];
  const central: number[] = [];
  let at = 0;
  for (const entry of entries) {
    const name = new TextEncoder().encode(entry.name);
    const size = 'data' in entry ? entry.data.length : entry.size;
    const big = size >= SATURATED || at >= SATURATED;
    const zip64Local = size >= SATURATED ? [...le(1, 2), ...le(16, 2), ...le(size, 8), ...le(size, 8)] : [];
    const size32 = size >= SATURATED ? SATURATED : size;
    // A hole's CRC stays 0 (featurefx's reader does not check CRCs; torch's does, so written data has them).
    const crc = 'data' in entry ? crc32(entry.data) : 0;
    const local = [
      ...le(0x04034b50, 4),
      ...le(45, 2),
      ...le(0, 2),
      ...le(0, 2),
      ...le(0, 4),
      ...le(crc, 4),
      ...le(size32, 4),
      ...le(size32, 4),
      ...le(name.length, 2),
      ...le(zip64Local.length, 2),
      ...name,
      ...zip64Local,
    ];
    pieces.push([at, Uint8Array.from(local)]);
    if ('data' in entry) pieces.push([at + local.length, entry.data]);
    const extra = big
      ? [
          ...le(1, 2),
          ...le(size >= SATURATED ? 24 : 8, 2),
          ...(size >= SATURATED ? [...le(size, 8), ...le(size, 8)] : []),
          ...le(at, 8),
        ]
      : [];
    central.push(
      ...le(0x02014b50, 4),
      ...le(45, 2),
      ...le(45, 2),
      ...le(0, 2),
      ...le(0, 2),
      ...le(0, 4),
      ...le(crc, 4),
      ...le(size32, 4),
      ...le(size32, 4),
      ...le(name.length, 2),
      ...le(extra.length, 2),
      ...le(0, 2),
      ...le(0, 2),
      ...le(0, 2),
      ...le(0, 4),
      ...le(big ? SATURATED : at, 4),
      ...name,
      ...extra,
    );
    at += local.length + size;
  }
  const cdOffset = at;
  const zip64 = cdOffset >= SATURATED;
  const tail = zip64
    ? [
        ...le(0x06064b50, 4),
        ...le(44, 8),
        ...le(45, 2),
        ...le(45, 2),
        ...le(0, 4),
        ...le(0, 4),
        ...le(entries.length, 8),
        ...le(entries.length, 8),
        ...le(central.length, 8),
        ...le(cdOffset, 8),
        ...le(0x07064b50, 4),
        ...le(0, 4),
        ...le(cdOffset + central.length, 8),
        ...le(1, 4),
      ]
    : [];
  tail.push(
    ...le(0x06054b50, 4),
    ...le(0, 2),
    ...le(0, 2),
    ...le(entries.length, 2),
    ...le(entries.length, 2),
    ...le(central.length, 4),
    ...le(zip64 ? SATURATED : cdOffset, 4),
    ...le(0, 2),
  );
  pieces.push([cdOffset, Uint8Array.from([...central, ...tail])]);
  return { pieces, size: cdOffset + central.length + tail.length };
}

/** A small archive, in memory. */
export function torchZip(entries: ArchiveEntry[]): Uint8Array {
  const { pieces, size } = layOut(entries);
  const out = new Uint8Array(size);
  for (const [at, bytes] of pieces) out.set(bytes, at);
  return out;
}

/** Writes the archive to `path`, leaving holes unwritten (sparse on disk); returns its size. */
export function writeTorchZip(path: string, entries: ArchiveEntry[]): number {
  const { pieces, size } = layOut(entries);
  const fd = openSync(path, 'w');
  try {
    for (const [at, bytes] of pieces) writeSync(fd, bytes, 0, bytes.length, at);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return size;
}

/** A `torch.save` archive of the given tensors: the pickle and one entry per storage. */
export function torchSave(tensors: [string, TensorSpec][], storages: Record<string, Uint8Array>): Uint8Array {
  return torchZip([
    { name: 'archive/data.pkl', data: statePickle(tensors) },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
  ]);
}

const STORAGE_CLASS = new Map<Tensor['dtype'], string>([
  ['float32', 'FloatStorage'],
  ['int64', 'LongStorage'],
]);

/**
 * The bytes `torch.save(model.state_dict())` writes for these tensors: contiguous, one storage
 * each. The docs' examples read torchvision checkpoints this stands in for.
 */
export function torchSaveStateDict(stateDict: Map<string, Tensor>): Uint8Array {
  const specs: [string, TensorSpec][] = [];
  const storages: Record<string, Uint8Array> = {};
  for (const [key, t] of stateDict) {
    const type = STORAGE_CLASS.get(t.dtype);
    if (type === undefined)
      throw new TypeError(`torchSaveStateDict: '${key}' is ${t.dtype}; only float32 and int64 are written`);
    const storage = String(specs.length);
    storages[storage] = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    specs.push([
      key,
      { storage, type, offset: 0, size: [...t.shape], stride: contiguousStrides(t.shape), storageNumel: t.data.length },
    ]);
  }
  return torchZip([
    { name: 'archive/data.pkl', data: statePickle(specs) },
    ...Object.entries(storages).map(([id, data]) => ({ name: `archive/data/${id}`, data })),
    { name: 'archive/version', data: new TextEncoder().encode('3\n') },
  ]);
}
