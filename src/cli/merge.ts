/** `featurefx merge`: joins the outputs of `extract --shard K/N` runs into one, rows in shard order. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNpy, saveNpy } from '../io/npy.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import { cat } from '../ops/cat.js';
import type { Tensor } from '../tensor/tensor.js';
import { type Manifest, fileKey } from './output-store.js';

export function merge(dirs: string[], out: string): void {
  const manifests = dirs.map((d) => JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as Manifest);
  const first = manifests[0];
  if (first === undefined) throw new Error('merge needs at least one shard folder');
  manifests.forEach((m, i) => {
    if (!m.complete) throw new Error(`${dirs[i]} is not complete: rerun its extract command first`);
    if (
      m.model !== first.model ||
      JSON.stringify(m.nodes) !== JSON.stringify(first.nodes) ||
      m.format !== first.format
    ) {
      throw new Error(`${dirs[i]} was made with other settings than ${dirs[0]}`);
    }
  });
  const keys = Object.values(first.nodes);
  const read = (dir: string): Map<string, Tensor> =>
    first.format === 'safetensors'
      ? loadSafetensors(join(dir, 'features.safetensors'))
      : new Map(keys.map((k) => [k, loadNpy(join(dir, `${fileKey(k)}.npy`))]));
  const shards = dirs.map((d, i) => ({ arrays: manifests[i]!.rows.length > 0 ? read(d) : new Map<string, Tensor>() }));
  const merged = new Map<string, Tensor>();
  for (const key of keys) {
    const parts = shards.flatMap((s) => (s.arrays.has(key) ? [s.arrays.get(key)!] : []));
    if (parts.length > 0) merged.set(key, parts.length === 1 ? parts[0]! : cat(parts, 0));
  }
  mkdirSync(out, { recursive: true });
  const outputs: string[] = [];
  const write = (name: string, data: Uint8Array | string): void => {
    writeFileSync(join(out, `${name}.tmp`), data);
    renameSync(join(out, `${name}.tmp`), join(out, name));
  };
  if (first.format === 'safetensors') {
    write('features.safetensors', saveSafetensors(merged));
    outputs.push('features.safetensors');
  } else {
    for (const [key, t] of merged) {
      write(`${fileKey(key)}.npy`, saveNpy(t));
      outputs.push(`${fileKey(key)}.npy`);
    }
  }
  const manifest: Manifest = {
    ...first,
    shard: null,
    rows: manifests.flatMap((m) => m.rows),
    skipped: manifests.flatMap((m) => m.skipped),
    parts: [],
    complete: true,
    outputs,
  };
  write('manifest.json', JSON.stringify(manifest, null, 1));
  process.stderr.write(`featurefx: merged ${dirs.length} shards, ${manifest.rows.length} images, into ${out}\n`);
}
