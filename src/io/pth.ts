/**
 * PyTorch `.pth` / `.pt` files written by `torch.save` (the zip format: `<root>/data.pkl` and one
 * `<root>/data/<key>` entry per storage), read through the restricted unpickler.
 *
 * The pickle only describes tensors (storage, offset, size, stride); nothing is read or allocated
 * for them until the whole state dict is known and every tensor has been checked against its
 * storage's size in the file. Then each storage used is read once, contiguous tensors become
 * views of it (tensors are never written in place, so sharing is safe), and only non-contiguous
 * tensors are copied out by their strides.
 */
import { WeightsError } from '../errors.js';
import { type DType, type Storage as ElementArray, allocate, bytesPerElement } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { type ByteSource, readRange, withByteSource } from './byte-source.js';
import { bfloat16ToFloat32, float16ToFloat32 } from './float16.js';
import { PickleDict, unpickle } from './unpickler.js';
import { type ZipEntry, readStoredZip } from './zip-reader.js';

/** torch's storage classes: the bytes of one element in the file, and the dtype featurefx gives the tensor. */
interface StorageKind {
  readonly elementBytes: number;
  readonly dtype: DType;
  /** Half-precision storages are converted to float32 once, when read. */
  readonly half?: 'float16' | 'bfloat16';
}

const STORAGE_KINDS = new Map<string, StorageKind>([
  ['FloatStorage', { elementBytes: 4, dtype: 'float32' }],
  ['DoubleStorage', { elementBytes: 8, dtype: 'float64' }],
  ['HalfStorage', { elementBytes: 2, dtype: 'float32', half: 'float16' }],
  ['BFloat16Storage', { elementBytes: 2, dtype: 'float32', half: 'bfloat16' }],
  ['LongStorage', { elementBytes: 8, dtype: 'int64' }],
  ['IntStorage', { elementBytes: 4, dtype: 'int32' }],
  ['ByteStorage', { elementBytes: 1, dtype: 'uint8' }],
  ['CharStorage', { elementBytes: 1, dtype: 'int8' }],
  ['BoolStorage', { elementBytes: 1, dtype: 'bool' }],
]);

/**
 * Copies of non-contiguous tensors may take at most this many times the bytes of the archive's
 * storages. A real state dict stays far below it; without a bound, a small hostile pickle could
 * ask for one stride-0 view of 2^40 elements, or the same strided view many thousand times.
 */
const COPY_ALLOWANCE = 4;

class StorageType {
  constructor(readonly kind: StorageKind) {}
}

/** A storage of the archive, read (and converted to the tensor's dtype) on first use. */
class Storage {
  private elements: ElementArray | undefined;

  constructor(
    readonly kind: StorageKind,
    readonly key: string,
    private readonly entry: ZipEntry,
  ) {}

  /** Whole elements in the archive's entry (a trailing partial element is not addressable). */
  get length(): number {
    return Math.floor(this.entry.size / this.kind.elementBytes);
  }

  read(file: ByteSource): ElementArray {
    if (this.elements !== undefined) return this.elements;
    const { half, dtype } = this.kind;
    const raw = half !== undefined ? new Uint16Array(this.length) : allocate(dtype, this.length);
    file.readInto(new Uint8Array(raw.buffer, 0, raw.byteLength), this.entry.offset);
    if (half === 'float16') this.elements = float16ToFloat32(raw as Uint16Array);
    else if (half === 'bfloat16') this.elements = bfloat16ToFloat32(raw as Uint16Array);
    else this.elements = raw;
    return this.elements;
  }
}

/** A tensor as `_rebuild_tensor_v2` describes it; checked and read once its state dict key is known. */
class TensorRecord {
  constructor(
    readonly storage: Storage,
    readonly offset: unknown,
    readonly size: unknown,
    readonly stride: unknown,
  ) {}
}

/** A record whose fields were found to fit its storage. */
interface CheckedRecord {
  readonly storage: Storage;
  readonly offset: number;
  readonly size: number[];
  readonly stride: number[];
  readonly count: number;
  readonly contiguous: boolean;
}

const REBUILD_TENSOR = Symbol('torch._utils._rebuild_tensor_v2');
const REBUILD_PARAMETER = Symbol('torch._utils._rebuild_parameter');
const ORDERED_DICT = Symbol('collections.OrderedDict');

/** The only globals a state dict needs. Everything else is refused. */
function findClass(module: string, name: string): unknown {
  if (module === 'collections' && name === 'OrderedDict') return ORDERED_DICT;
  if (module === 'torch._utils' && name === '_rebuild_tensor_v2') return REBUILD_TENSOR;
  if (module === 'torch._utils' && name === '_rebuild_parameter') return REBUILD_PARAMETER;
  const kind = module === 'torch' ? STORAGE_KINDS.get(name) : undefined;
  return kind === undefined ? undefined : new StorageType(kind);
}

function isIndexList(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((v) => Number.isSafeInteger(v) && (v as number) >= 0);
}

/** Whether the elements are laid out row-major with no gaps (strides of size-1 dimensions do not matter). */
function isContiguous(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d]!;
  }
  return true;
}

/** Checks a tensor's offset, size and stride against its storage, without reading anything. */
function check(key: string, record: TensorRecord): CheckedRecord {
  const { storage, offset, size, stride } = record;
  const list = (x: unknown): string => (Array.isArray(x) ? `[${x.map(String).join(', ')}]` : String(x));
  const layout = `(offset ${String(offset)}, size ${list(size)}, stride ${list(stride)})`;
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || !isIndexList(size) || !isIndexList(stride)) {
    throw new WeightsError(
      `tensor '${key}' has an offset, size or stride that is negative, not an integer or past 2^53 ${layout}: the file is corrupt`,
    );
  }
  if (size.length !== stride.length) {
    throw new WeightsError(
      `tensor '${key}' has ${size.length} sizes but ${stride.length} strides: the file is corrupt`,
    );
  }
  const count = size.reduce((a, d) => a * d, 1);
  const base = { storage, offset: offset as number, size, stride, count };
  if (count === 0) return { ...base, contiguous: true };
  // The last element it addresses; floating point is exact here until it is far past any storage.
  const last = size.reduce((a, d, i) => a + (d - 1) * stride[i]!, offset as number);
  if (last >= storage.length) {
    throw new WeightsError(
      `tensor '${key}' ${layout} reaches element ${last} of storage '${storage.key}', which has ${storage.length}: ` +
        'the file is corrupt',
    );
  }
  return { ...base, contiguous: isContiguous(size, stride) };
}

/** The tensor's elements: a view of its storage when contiguous, otherwise a copy made by its strides. */
function materialize(file: ByteSource, r: CheckedRecord): Tensor {
  const elements = r.storage.read(file);
  const { dtype } = r.storage.kind;
  if (r.contiguous) return new Tensor(dtype, r.size, elements.subarray(r.offset, r.offset + r.count) as Tensor['data']);
  const picked = allocate(dtype, r.count) as unknown as (number | bigint)[];
  const source = elements as unknown as ArrayLike<number | bigint>;
  const index = new Array<number>(r.size.length).fill(0);
  for (let i = 0, at = r.offset; i < r.count; i++) {
    picked[i] = source[at]!;
    // Advance the multi-index like an odometer, updating the storage position by the strides.
    for (let d = r.size.length - 1; d >= 0; d--) {
      index[d]! += 1;
      at += r.stride[d]!;
      if (index[d]! < r.size[d]!) break;
      at -= r.stride[d]! * r.size[d]!;
      index[d] = 0;
    }
  }
  return new Tensor(dtype, r.size, picked as unknown as Tensor['data']);
}

function findStateDict(value: unknown): PickleDict {
  let dict = value;
  // Checkpoints that wrap the state dict: { state_dict: {...} } or { model: {...} }.
  for (const wrapper of ['state_dict', 'model']) {
    if (dict instanceof PickleDict && dict.get(wrapper) instanceof PickleDict) {
      dict = dict.get(wrapper);
      break;
    }
  }
  if (!(dict instanceof PickleDict))
    throw new WeightsError('the checkpoint does not hold a state dict (a dict of tensors)');
  return dict;
}

/** Checks every tensor of the state dict, then reads them; nothing is allocated until all fit. */
function toStateDict(file: ByteSource, value: unknown, storageBytes: number): Map<string, Tensor> {
  const checked = new Map<TensorRecord, CheckedRecord>();
  const keys: [string, TensorRecord][] = [];
  const copyLimit = COPY_ALLOWANCE * storageBytes;
  let copyBytes = 0;
  for (const [key, record] of findStateDict(value)) {
    if (typeof key !== 'string') throw new WeightsError('state dict keys must be strings');
    if (!(record instanceof TensorRecord)) throw new WeightsError(`state dict entry '${key}' is not a tensor`);
    keys.push([key, record]);
    // The same tensor under two keys (pickled once, referenced twice) is read once.
    if (checked.has(record)) continue;
    const r = check(key, record);
    checked.set(record, r);
    if (r.contiguous) continue;
    const bytes = r.count * bytesPerElement(r.storage.kind.dtype);
    copyBytes += bytes;
    if (copyBytes > copyLimit) {
      throw new WeightsError(
        `tensor '${key}' (size [${r.size.join(', ')}], stride [${r.stride.join(', ')}]) needs a ${bytes}-byte copy, ` +
          `and copies of non-contiguous tensors may take at most ${copyLimit} bytes (${COPY_ALLOWANCE}× the ` +
          "checkpoint's storages): its elements overlap (an expanded, stride-0 view) or the file is corrupt or " +
          'hostile. In PyTorch, save tensor.contiguous() instead',
      );
    }
  }
  const tensors = new Map<TensorRecord, Tensor>();
  const out = new Map<string, Tensor>();
  for (const [key, record] of keys) {
    let t = tensors.get(record);
    if (t === undefined) {
      t = materialize(file, checked.get(record)!);
      tensors.set(record, t);
    }
    out.set(key, t);
  }
  return out;
}

/** Reads a state dict from an opened `.pth` file (`loadWeights` opens the file to tell its format first). */
export function readPth(file: ByteSource): Map<string, Tensor> {
  const magic = readRange(file, 0, Math.min(file.size, 4), 'the file signature');
  if (magic.length < 4 || magic[0] !== 0x50 || magic[1] !== 0x4b) {
    throw new WeightsError(
      'not a zip-format torch.save file. Files saved by PyTorch before 1.6 use a legacy format: re-save with a current PyTorch',
    );
  }
  const entries = readStoredZip(file);
  const pklName = [...entries.keys()].find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (pklName === undefined) throw new WeightsError('the archive has no data.pkl: not a torch.save file');
  const pkl = entries.get(pklName)!;
  const root = pklName.slice(0, pklName.length - 'data.pkl'.length);
  let storageBytes = 0;
  for (const [name, entry] of entries) if (name.startsWith(`${root}data/`)) storageBytes += entry.size;
  const storages = new Map<string, Storage>();
  const value = unpickle(readRange(file, pkl.offset, pkl.size, `the pickle '${pklName}'`), {
    findClass,
    call(callable, args) {
      if (callable === ORDERED_DICT) return new PickleDict();
      if (callable === REBUILD_TENSOR) {
        if (!(args[0] instanceof Storage)) throw new WeightsError('tensor without a storage in checkpoint');
        return new TensorRecord(args[0], args[1], args[2], args[3]);
      }
      if (callable === REBUILD_PARAMETER) {
        if (!(args[0] instanceof TensorRecord)) throw new WeightsError('parameter without tensor data in checkpoint');
        return args[0];
      }
      throw new WeightsError('the checkpoint calls something that is not a tensor constructor');
    },
    persistentLoad(pid) {
      if (
        !Array.isArray(pid) ||
        pid[0] !== 'storage' ||
        !(pid[1] instanceof StorageType) ||
        typeof pid[2] !== 'string'
      ) {
        throw new WeightsError('unsupported persistent reference in checkpoint (expected a storage)');
      }
      const key = pid[2];
      let storage = storages.get(key);
      if (storage === undefined) {
        const entry = entries.get(`${root}data/${key}`);
        if (entry === undefined)
          throw new WeightsError(`the checkpoint references storage '${key}', which the archive lacks`);
        storage = new Storage(pid[1].kind, key, entry);
        storages.set(key, storage);
      }
      return storage;
    },
  });
  return toStateDict(file, value, storageBytes);
}

/**
 * Reads a state dict saved by `torch.save(model.state_dict(), path)`. A path is read in pieces,
 * as needed, so checkpoints over 2 GiB load too.
 * @example
 * resnet18().loadStateDict(loadPth('resnet18-f37072fd.pth'));
 */
export function loadPth(source: string | Uint8Array): Map<string, Tensor> {
  return withByteSource(source, readPth);
}
