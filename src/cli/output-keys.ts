/**
 * Output keys name files: `<key>.npy`, and the per-batch parts of every format. Two keys that
 * would name one file would overwrite each other's rows, so they are refused up front.
 */

/** The file-name fragment of an output key: letters, digits, `.`, `_` and `-`; anything else becomes `_`. */
export function fileKey(key: string): string {
  return key.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** Refuses keys whose file names collide, case ignored (macOS and Windows file systems ignore it). */
export function checkFileNames(keys: readonly string[]): void {
  const byName = new Map<string, string>();
  for (const key of keys) {
    const name = fileKey(key).toLowerCase();
    const other = byName.get(name);
    if (other !== undefined) {
      throw new RangeError(
        `--nodes: the keys '${other}' and '${key}' would both be written to '${fileKey(key)}.npy' ` +
          `(file names keep only A-Z, a-z, 0-9, '.', '_' and '-', and some file systems ignore case); ` +
          `give them keys that differ in those characters`,
      );
    }
    byName.set(name, key);
  }
}
