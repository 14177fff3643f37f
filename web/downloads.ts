/**
 * Downloads made in the page: the pruned extractor of the selected nodes as an .onnx file
 * (encodeOnnxModel(pruneModel(...)), the file `featurefx export` would give) and each node's
 * features as a .npy file. The bytes are made when the link is clicked, as a Blob URL that is
 * revoked once the browser has taken the download.
 */
import { npyBytes } from '../src/io/npy-format.js';
import { pruneModel } from '../src/onnx/prune.js';
import { encodeOnnxModel } from '../src/onnx/read-model.js';
import type { FeatureMap } from './feature-grid.js';
import type { LoadedModel } from './model-source.js';

/** How long a Blob URL outlives its click: FileSaver.js's 40 s, enough for a slow save dialog. */
const REVOKE_AFTER_MS = 40_000;

/**
 * Makes `link` download `fileName()` with the bytes `make()` returns at each click, or disables it
 * when `make` is undefined.
 */
export function offerDownload(
  link: HTMLAnchorElement,
  make: (() => { fileName: string; bytes: Uint8Array }) | undefined,
): void {
  link.onclick = null;
  link.removeAttribute('href');
  link.setAttribute('aria-disabled', String(make === undefined));
  if (make === undefined) return;
  link.href = '#';
  link.onclick = () => {
    const { fileName, bytes } = make();
    // The anchor's default action, which follows this handler, reads the href set here.
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
    link.download = fileName;
    link.href = url;
    setTimeout(() => {
      URL.revokeObjectURL(url);
      if (link.href === url) link.href = '#';
    }, REVOKE_AFTER_MS);
  };
}

/** The extractor of `outputs` (value names) as ONNX bytes, named `<model>-<nodes>.onnx`. */
export function extractorFile(model: LoadedModel, nodes: readonly { name: string; output: string }[]) {
  const outputs = [...new Set(nodes.map((n) => n.output))];
  return {
    fileName: `${baseName(model.name)}-${nodes.map((n) => n.name).join('+')}.onnx`,
    bytes: encodeOnnxModel(pruneModel(model.proto, outputs)),
  };
}

/** A node's features as .npy bytes (float32, C order), named `<node>.npy` as `featurefx extract` names them. */
export function npyFile(map: FeatureMap) {
  return { fileName: `${map.node}.npy`, bytes: npyBytes('float32', map.dims, map.data) };
}

function baseName(name: string): string {
  return name.replace(/\.onnx$/i, '');
}
