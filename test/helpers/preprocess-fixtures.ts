/**
 * scripts/fixtures/make_preprocess.py's fixtures: per photo, torchvision's decoded bytes and, per
 * preset, SHA-256 of its pixels and normalised tensor.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const PREPROCESS_DIR = 'test/fixtures/preprocess';

export interface PreprocessCase {
  preset: string;
  resizeSize: number;
  cropSize: number;
  interpolation: 'bilinear' | 'bicubic';
  mean: number[];
  std: number[];
  pixelsSha256: string;
  inputSha256: string;
  /** Every rowStride-th row of the pixels, deflated, for the presets every photo gets. */
  rowStride?: number;
  rows?: string;
}

export interface PreprocessPhoto {
  file: string;
  width: number;
  height: number;
  decodedSha256: string;
  cases: PreprocessCase[];
}

export function loadPreprocessPhotos(): PreprocessPhoto[] {
  return readdirSync(PREPROCESS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(PREPROCESS_DIR, f), 'utf8')) as PreprocessPhoto);
}

/** SHA-256 of the bytes a typed array views, as the fixture script hashes numpy arrays. */
export function sha256(data: Uint8Array | Float32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    .digest('hex');
}
