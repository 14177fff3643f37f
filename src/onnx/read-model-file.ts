/**
 * `readOnnxModel(path)`: an ONNX file read in Node, with the data of tensors stored in external files
 * (models over 2 GB, `torch.onnx.export(..., external_data=True)`) read into their `rawData`, so the
 * model can be pruned and encoded again as one self-contained file. External files are read only
 * inside the model's folder, as ONNX Runtime does: a hostile model must not read /etc/passwd or
 * ../secrets into its weights.
 */
import type { FileHandle } from 'node:fs/promises';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { OnnxFormatError } from '../errors.js';
import type { ModelProto, TensorProto } from './model-proto.js';
import { modelTensors } from './model-tensors.js';
import { decodeOnnxModel } from './read-model.js';
import { dataTypeLayout, declaredElements, isExternal, rawByteLength } from './tensor-size.js';

/**
 * Reads and checks an ONNX model file and the external data it names. Internal: users load files
 * with `OnnxModel.load(path)`, which calls this.
 */
export async function readOnnxModel(path: string): Promise<ModelProto> {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`readOnnxModel: path must be the path of a .onnx file, got ${JSON.stringify(path)}`);
  }
  const source = `'${path}'`;
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new OnnxFormatError(
      `Load model from ${source} failed: cannot read it (${(error as Error).message}). Give the path of a .onnx file.`,
    );
  }
  const model = decodeOnnxModel(bytes, { source });
  await readExternalData(model, await realpath(dirname(resolve(path))), source);
  return model;
}

/** One tensor's external data: where it is, checked against its declaration and the file's size. */
interface ExternalRange {
  tensor: TensorProto;
  file: string;
  location: string;
  offset: number;
  bytes: number;
  fail: (problem: string) => never;
}

async function readExternalData(model: ModelProto, folder: string, source: string): Promise<void> {
  const files = new Map<string, FileHandle>();
  try {
    const ranges: ExternalRange[] = [];
    for (const { tensor, where } of modelTensors(model)) {
      if (!isExternal(tensor)) continue;
      const fail = (problem: string): never => {
        throw new OnnxFormatError(`Load model from ${source} failed: ${where} ${problem}`);
      };
      ranges.push(await externalRange(tensor, folder, files, fail));
    }
    checkNoOverlap(ranges);
    for (const { tensor, file, location, offset, bytes, fail } of ranges) {
      const data = new Uint8Array(bytes);
      const { bytesRead } = await files.get(file)!.read(data, 0, bytes, offset);
      if (bytesRead !== bytes) fail(`got ${bytesRead} of its ${bytes} bytes from '${location}': it shrank while read.`);
      inline(tensor, data);
    }
  } finally {
    await Promise.all([...files.values()].map((handle) => handle.close()));
  }
}

/** Where a tensor's external data is, refused unless it lies inside a file in the model's folder. */
async function externalRange(
  tensor: TensorProto,
  folder: string,
  files: Map<string, FileHandle>,
  fail: (problem: string) => never,
): Promise<ExternalRange> {
  const entries = new Map(tensor.externalData.map(({ key, value }) => [key ?? '', value ?? '']));
  const location = entries.get('location');
  if (location === undefined || location === '') fail('has external data without a location.');
  const file = await externalFile(location!, folder, fail);
  const layout = dataTypeLayout(tensor.dataType)!;
  if (layout.bits === 0) fail('is a STRING tensor with external data, which ONNX cannot store externally.');
  // checkModel has refused bad dims already.
  const bytes = rawByteLength(layout, declaredElements(tensor.dims) as number);
  const offset = byteField(entries.get('offset') ?? '0', 'offset', fail);
  const length = entries.has('length') ? byteField(entries.get('length')!, 'length', fail) : bytes;
  if (length !== bytes) {
    fail(
      `declares dims [${tensor.dims.join(', ')}] of ${layout.name} (${bytes} bytes), but its external ` +
        `data has length ${length}. The model and its data file do not belong together; export them again.`,
    );
  }
  let handle = files.get(file);
  if (handle === undefined) files.set(file, (handle = await open(file, 'r')));
  const size = (await handle.stat()).size;
  if (offset + bytes > size) {
    fail(
      `reads bytes ${offset} to ${offset + bytes} of '${location}', which has ${size} bytes. The data ` +
        'file is truncated or belongs to another export; copy both files again.',
    );
  }
  return { tensor, file, location: location!, offset, bytes, fail };
}

/**
 * Exporters give each tensor its own bytes. Refusing overlaps bounds what is read by the data files'
 * sizes: otherwise a small hostile model could name one 1 GB range from a thousand tensors.
 */
function checkNoOverlap(ranges: readonly ExternalRange[]): void {
  const sorted = ranges.filter((r) => r.bytes > 0);
  sorted.sort((a, b) => (a.file === b.file ? a.offset - b.offset : a.file < b.file ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) {
    const [previous, range] = [sorted[i - 1]!, sorted[i]!];
    if (range.file === previous.file && range.offset < previous.offset + previous.bytes) {
      range.fail(
        `reads bytes ${range.offset} to ${range.offset + range.bytes} of '${range.location}', which ` +
          `overlap those of tensor '${previous.tensor.name ?? ''}' (${previous.offset} to ` +
          `${previous.offset + previous.bytes}). Each tensor's external data must be its own; export the model again.`,
      );
    }
  }
}

/** The real path of an external data file, refused unless it is a regular file inside `folder`. */
async function externalFile(location: string, folder: string, fail: (problem: string) => never): Promise<string> {
  const outside = (why: string): never =>
    fail(
      `has external data at '${location}', ${why}. External data is read only from the model's folder ` +
        `(${folder}); put the data file beside the model and name it by a relative path.`,
    );
  if (isAbsolute(location) || location.split(/[\\/]/).includes('..')) outside("outside the model's folder");
  let real: string;
  try {
    real = await realpath(resolve(folder, location));
  } catch {
    return fail(
      `has its data in '${location}', which does not exist in ${folder}. Copy the data file ` +
        'written with the model (torch.onnx.export writes it beside the .onnx file) into that folder.',
    );
  }
  const rel = relative(folder, real);
  if (rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel))
    outside(`a link to ${real}, outside the model's folder`);
  if (!(await stat(real)).isFile()) fail(`has its data in '${location}', which is not a file.`);
  return real;
}

/** An external-data offset or length: ONNX writes them as decimal strings. */
function byteField(value: string, key: string, fail: (problem: string) => never): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) fail(`has external data ${key} '${value}', not a byte count.`);
  return n;
}

/** Makes a tensor self-contained: its data in rawData, no longer external. */
function inline(tensor: TensorProto, data: Uint8Array): void {
  tensor.rawData = data;
  tensor.externalData = [];
  delete tensor.dataLocation;
}
