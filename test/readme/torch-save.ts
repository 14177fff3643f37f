/**
 * Writes a state dict in the format `torch.save(model.state_dict(), path)` writes (a zip of
 * `archive/data.pkl`, pickle protocol 2, and one stored `archive/data/<key>` entry per tensor), so
 * that the docs' torchvision checkpoint (`resnet50-11ad3fa6.pth`, 98 MB, not in the repository)
 * can be stood in for by a file of the same format, keys and shapes. Tests only: featurefx reads
 * checkpoints, it does not write them.
 */
import { crc32 } from 'node:zlib';
import type { Tensor } from '../../src/tensor/tensor.js';

const STORAGE: Partial<Record<Tensor['dtype'], string>> = { float32: 'FloatStorage', int64: 'LongStorage' };

/** The pickle opcodes torch's state dicts use, protocol 2. */
class Pickle {
  private readonly parts: Buffer[] = [Buffer.from([0x80, 2])];
  op(code: string): this {
    this.parts.push(Buffer.from(code, 'latin1'));
    return this;
  }
  global(module: string, name: string): this {
    return this.op(`c${module}\n${name}\n`);
  }
  str(s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length);
    this.parts.push(Buffer.from('X'), length, bytes);
    return this;
  }
  int(n: number): this {
    const value = Buffer.alloc(4);
    value.writeInt32LE(n);
    this.parts.push(Buffer.from('J'), value);
    return this;
  }
  tuple(values: readonly number[]): this {
    this.op('(');
    for (const v of values) this.int(v);
    return this.op('t');
  }
  bytes(): Buffer {
    return Buffer.concat([...this.parts, Buffer.from('.')]);
  }
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = shape.map(() => 1);
  for (let d = shape.length - 2; d >= 0; d--) strides[d] = strides[d + 1]! * shape[d + 1]!;
  return strides;
}

/** A stored (uncompressed) zip, as torch writes it; sizes stay below zip64's 4 GiB. */
function storedZip(entries: [name: string, data: Uint8Array][]): Buffer {
  const out: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const fileName = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(data.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(fileName.length, 28);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, fileName);
    out.push(local, fileName, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    offset += local.length + fileName.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...out, directory, end]);
}

/** The bytes of `torch.save(stateDict)`: an OrderedDict of contiguous tensors, one storage each. */
export function torchSave(stateDict: Map<string, Tensor>): Buffer {
  const p = new Pickle().global('collections', 'OrderedDict').op(')R(');
  const storages: [string, Uint8Array][] = [];
  for (const [key, t] of stateDict) {
    const storage = STORAGE[t.dtype];
    if (storage === undefined)
      throw new TypeError(`torchSave: '${key}' is ${t.dtype}; only float32 and int64 are written`);
    const id = String(storages.length);
    const data = t.data as Float32Array | BigInt64Array;
    storages.push([`archive/data/${id}`, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]);
    p.str(key).global('torch._utils', '_rebuild_tensor_v2').op('(');
    // The persistent id torch writes: ('storage', storage class, key, location, numel).
    p.op('(').str('storage').global('torch', storage).str(id).str('cpu').int(data.length).op('tQ');
    p.int(0).tuple(t.shape).tuple(contiguousStrides(t.shape)).op('\x89');
    p.global('collections', 'OrderedDict').op(')R').op('tR');
  }
  p.op('u');
  return storedZip([['archive/data.pkl', p.bytes()], ...storages, ['archive/version', Buffer.from('3\n')]]);
}
