/**
 * The ONNX files named on `featurefx serve`'s command line. Each is read and checked when the server
 * starts (a file that is missing or not ONNX stops it with OnnxFormatError's message), and read again
 * for each request, its external data inlined, so the page gets one self-contained file.
 */
import { basename } from 'node:path';
import { encodeOnnxModel } from '../onnx/read-model.js';
import { readOnnxModel } from '../onnx/read-model-file.js';
import { RequestError } from './request-error.js';

/** A file as `GET /api/models` lists it; `url` is relative to the page. */
export interface FileModel {
  name: string;
  url: string;
}

export class FileModels {
  private constructor(readonly paths: readonly string[]) {}

  /** Checks every file by reading it; throws the first one's OnnxFormatError. */
  static async open(paths: readonly string[]): Promise<FileModels> {
    for (const path of paths) await readOnnxModel(path);
    return new FileModels(paths);
  }

  list(): FileModel[] {
    return this.paths.map((path, i) => ({ name: basename(path), url: urlPath(i, path) }));
  }

  /** The file at `api/files/<index>/<name>` as sent (still URL-encoded); 404 for anything else. */
  async bytes(index: string, name: string): Promise<Uint8Array> {
    const i = Number(index);
    const path = /^\d+$/.test(index) ? this.paths[i] : undefined;
    if (path === undefined || `api/files/${index}/${name}` !== urlPath(i, path))
      throw new RequestError(404, `no model file at api/files/${index}/${name}; GET api/models lists them`);
    return encodeOnnxModel(await readOnnxModel(path));
  }
}

function urlPath(i: number, path: string): string {
  return `api/files/${i}/${encodeURIComponent(basename(path))}`;
}
