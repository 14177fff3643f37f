/**
 * PyTorch `.pth` / `.pt` files written by `torch.save` (the zip format: `<root>/data.pkl` and one
 * `<root>/data/<key>` entry per storage), read through the restricted unpickler. Tensors may
 * share a storage, start at an offset, or be non-contiguous; each is copied out by its strides.
 */
import { readFileSync } from 'node:fs';
import { WeightsError } from '../errors.js';
import { type DType, allocate } from '../tensor/dtype.js';
import { numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { bfloat16ToFloat32, float16ToFloat32 } from './float16.js';
import { PickleDict, unpickle } from './unpickler.js';
import { readStoredZip } from './zip-reader.js';

/** torch's storage classes: the element type of the bytes and the dtype featurefx gives the tensor. */
type ElementView = new (buffer: ArrayBuffer) => ArrayLike<number | bigint>;

const STORAGE_TYPES: Record<string, { view: ElementView; half?: 'float16' | 'bfloat16'; dtype: DType }> = {
  FloatStorage: { view: Float32Array, dtype: 'float32' },
  DoubleStorage: { view: Float64Array, dtype: 'float64' },
  HalfStorage: { view: Uint16Array, half: 'float16', dtype: 'float32' },
  BFloat16Storage: { view: Uint16Array, half: 'bfloat16', dtype: 'float32' },
  LongStorage: { view: BigInt64Array, dtype: 'int64' },
  IntStorage: { view: Int32Array, dtype: 'int32' },
  ByteStorage: { view: Uint8Array, dtype: 'uint8' },
  CharStorage: { view: Int8Array, dtype: 'int8' },
  BoolStorage: { view: Uint8Array, dtype: 'bool' },
};

class StorageType {
  constructor(readonly name: string) {}
}

class Storage {
  constructor(
    readonly type: StorageType,
    readonly key: string,
    readonly bytes: Uint8Array,
  ) {}
}

const REBUILD_TENSOR = Symbol('torch._utils._rebuild_tensor_v2');
const REBUILD_PARAMETER = Symbol('torch._utils._rebuild_parameter');
const ORDERED_DICT = Symbol('collections.OrderedDict');

/** The only globals a state dict needs. Everything else is refused. */
function findClass(module: string, name: string): unknown {
  if (module === 'collections' && name === 'OrderedDict') return ORDERED_DICT;
  if (module === 'torch._utils' && name === '_rebuild_tensor_v2') return REBUILD_TENSOR;
  if (module === 'torch._utils' && name === '_rebuild_parameter') return REBUILD_PARAMETER;
  if (module === 'torch' && Object.hasOwn(STORAGE_TYPES, name)) return new StorageType(name);
  return undefined;
}

function isIntList(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((v) => Number.isSafeInteger(v) && (v as number) >= 0);
}

/** Elements of `storage` at `offset + sum(index_i * stride_i)`, converted to the tensor's dtype. */
function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown): Tensor {
  if (!(storage instanceof Storage)) throw new WeightsError('tensor without a storage in checkpoint');
  if (
    !Number.isSafeInteger(offset) ||
    (offset as number) < 0 ||
    !isIntList(size) ||
    !isIntList(stride) ||
    size.length !== stride.length
  ) {
    throw new WeightsError('tensor with invalid offset, size or stride in checkpoint');
  }
  const info = STORAGE_TYPES[storage.type.name]!;
  const elementBytes = (info.view as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const available = Math.floor(storage.bytes.length / elementBytes);
  const count = numel(size);
  const last = count === 0 ? 0 : size.reduce((a, d, i) => a + (d - 1) * stride[i]!, offset as number);
  if (count > 0 && last >= available) {
    throw new WeightsError(
      `tensor of size [${size.join(', ')}] reaches element ${last} of storage '${storage.key}', which has ${available}: the file is corrupt`,
    );
  }
  // Copy into an aligned buffer, viewed as the storage's element type.
  const aligned = new Uint8Array(available * elementBytes);
  aligned.set(storage.bytes.subarray(0, aligned.length));
  const elements = new info.view(aligned.buffer);
  const picked = info.half !== undefined ? new Uint16Array(count) : allocate(info.dtype, count);
  const index = new Array<number>(size.length).fill(0);
  for (let i = 0, at = offset as number; i < count; i++) {
    (picked as unknown as (number | bigint)[])[i] = elements[at]!;
    // Advance the multi-index like an odometer, updating the storage position by the strides.
    for (let d = size.length - 1; d >= 0; d--) {
      index[d]! += 1;
      at += stride[d]!;
      if (index[d]! < size[d]!) break;
      at -= stride[d]! * size[d]!;
      index[d] = 0;
    }
  }
  if (info.half === 'float16') return new Tensor('float32', size, float16ToFloat32(picked as Uint16Array));
  if (info.half === 'bfloat16') return new Tensor('float32', size, bfloat16ToFloat32(picked as Uint16Array));
  return new Tensor(info.dtype, size, picked as Tensor['data']);
}

function toStateDict(value: unknown): Map<string, Tensor> {
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
  const out = new Map<string, Tensor>();
  for (const [key, t] of dict) {
    if (typeof key !== 'string') throw new WeightsError('state dict keys must be strings');
    if (!(t instanceof Tensor)) throw new WeightsError(`state dict entry '${key}' is not a tensor`);
    out.set(key, t);
  }
  return out;
}

/**
 * Reads a state dict saved by `torch.save(model.state_dict(), path)`.
 * @example
 * model.loadStateDict(loadPth('resnet18-f37072fd.pth'));
 */
export function loadPth(source: string | Uint8Array): Map<string, Tensor> {
  const file = typeof source === 'string' ? new Uint8Array(readFileSync(source)) : source;
  if (file.length < 4 || file[0] !== 0x50 || file[1] !== 0x4b) {
    throw new WeightsError(
      'not a zip-format torch.save file. Files saved by PyTorch before 1.6 use a legacy format: re-save with a current PyTorch',
    );
  }
  const entries = readStoredZip(file);
  const pklName = [...entries.keys()].find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (pklName === undefined) throw new WeightsError('the archive has no data.pkl: not a torch.save file');
  const root = pklName.slice(0, pklName.length - 'data.pkl'.length);
  const storages = new Map<string, Storage>();
  const value = unpickle(entries.get(pklName)!, {
    findClass,
    call(callable, args) {
      if (callable === ORDERED_DICT) return new PickleDict();
      if (callable === REBUILD_TENSOR) return rebuildTensor(args[0], args[1], args[2], args[3]);
      if (callable === REBUILD_PARAMETER) {
        if (!(args[0] instanceof Tensor)) throw new WeightsError('parameter without tensor data in checkpoint');
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
        const bytes = entries.get(`${root}data/${key}`);
        if (bytes === undefined)
          throw new WeightsError(`the checkpoint references storage '${key}', which the archive lacks`);
        storage = new Storage(pid[1], key, bytes);
        storages.set(key, storage);
      }
      return storage;
    },
  });
  return toStateDict(value);
}
