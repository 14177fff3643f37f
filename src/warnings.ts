/**
 * Warnings a user may want to see or silence, as Python's `warnings.warn`: a Node.js process
 * warning of the given type (filter with `process.on('warning')` or `--no-warnings`), or the
 * console where there is no `process` (a browser).
 */
export function warn(type: string, message: string): void {
  const proc = (globalThis as { process?: { emitWarning?: (m: string, o: { type: string }) => void } }).process;
  if (proc?.emitWarning !== undefined) proc.emitWarning(message, { type });
  else console.warn(`${type}: ${message}`);
}
