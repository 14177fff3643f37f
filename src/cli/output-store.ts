/**
 * The output folder of `extract`: per-batch part files and a manifest, each written to a temporary
 * name and renamed, so that a killed run leaves only whole files, and a rerun continues from the
 * manifest without redoing or duplicating images. When every image is done, the parts are joined
 * into one array per output key (`<key>.npy`, or `features.safetensors`) and removed.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNpy, saveNpy } from '../io/npy.js';
import { saveSafetensors } from '../io/safetensors.js';
import { cat } from '../ops/cat.js';
import type { Tensor } from '../tensor/tensor.js';

export interface Manifest {
  model: string;
  nodes: Record<string, string>;
  format: 'npy' | 'safetensors';
  shard: string | null;
  /** Image paths, in the order of the arrays' rows. */
  rows: string[];
  skipped: { path: string; reason: string }[];
  parts: { file: string; rows: number }[];
  complete: boolean;
  /** The final files, once complete. */
  outputs: string[];
}

function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** A safe file-name fragment for an output key. */
export function fileKey(key: string): string {
  return key.replace(/[^A-Za-z0-9._-]/g, '_');
}

export class OutputStore {
  readonly manifest: Manifest;

  constructor(
    readonly dir: string,
    fresh: Omit<Manifest, 'rows' | 'skipped' | 'parts' | 'complete' | 'outputs'>,
  ) {
    mkdirSync(join(dir, 'parts'), { recursive: true });
    // Temporary files of a killed run are never part of the output.
    for (const folder of [dir, join(dir, 'parts')]) {
      for (const name of readdirSync(folder)) if (name.includes('.tmp-')) rmSync(join(folder, name), { force: true });
    }
    const path = join(dir, 'manifest.json');
    const previous = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Manifest) : undefined;
    if (previous !== undefined) {
      const same =
        previous.model === fresh.model &&
        JSON.stringify(previous.nodes) === JSON.stringify(fresh.nodes) &&
        previous.format === fresh.format &&
        previous.shard === fresh.shard;
      if (!same)
        throw new Error(
          `${dir} holds a run with other settings (${previous.model}, ${JSON.stringify(previous.nodes)}); use another --out`,
        );
      this.manifest = previous;
    } else {
      this.manifest = { ...fresh, rows: [], skipped: [], parts: [], complete: false, outputs: [] };
    }
  }

  /** Paths already written or skipped, which a resumed run leaves out. */
  done(): Set<string> {
    return new Set([...this.manifest.rows, ...this.manifest.skipped.map((s) => s.path)]);
  }

  private saveManifest(): void {
    writeAtomic(join(this.dir, 'manifest.json'), JSON.stringify(this.manifest, null, 1));
  }

  addBatch(paths: string[], outputs: Record<string, Tensor>, skipped: { path: string; reason: string }[]): void {
    const index = this.manifest.parts.length;
    const file = `part-${String(index).padStart(6, '0')}`;
    if (paths.length > 0) {
      for (const [key, t] of Object.entries(outputs))
        writeAtomic(join(this.dir, 'parts', `${file}.${fileKey(key)}.npy`), saveNpy(t));
      this.manifest.parts.push({ file, rows: paths.length });
      this.manifest.rows.push(...paths);
    }
    this.manifest.skipped.push(...skipped);
    this.saveManifest();
  }

  /** Joins the parts into the final arrays and removes them. */
  finish(keys: readonly string[]): string[] {
    const arrays = new Map<string, Tensor>();
    for (const key of keys) {
      const parts = this.manifest.parts.map((p) => loadNpy(join(this.dir, 'parts', `${p.file}.${fileKey(key)}.npy`)));
      if (parts.length > 0) arrays.set(key, parts.length === 1 ? parts[0]! : cat(parts, 0));
    }
    const outputs: string[] = [];
    if (this.manifest.format === 'safetensors') {
      writeAtomic(join(this.dir, 'features.safetensors'), saveSafetensors(arrays));
      outputs.push('features.safetensors');
    } else {
      for (const [key, t] of arrays) {
        writeAtomic(join(this.dir, `${fileKey(key)}.npy`), saveNpy(t));
        outputs.push(`${fileKey(key)}.npy`);
      }
    }
    this.manifest.complete = true;
    this.manifest.outputs = outputs;
    this.manifest.parts = [];
    this.saveManifest();
    rmSync(join(this.dir, 'parts'), { recursive: true, force: true });
    return outputs;
  }
}
