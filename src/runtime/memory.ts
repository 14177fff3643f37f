/**
 * Whether an op's outputs can be allocated, checked from their inferred shapes before a kernel
 * runs. ONNX Runtime allocates an output in full and hands the buffer to JavaScript as a typed
 * array; past the typed-array limit or the machine's memory, that ends in a native crash or a
 * fatal V8 out-of-memory abort instead of an error the caller can catch.
 */
import { constants } from 'node:buffer';
import { freemem } from 'node:os';
import { type DType, bytesPerElement } from '../tensor/dtype.js';
import { type Shape, formatShape } from '../tensor/shape.js';

/** Memory this process may still take: its cgroup's limit where Node knows it (20.13+), else free RAM. */
export function availableMemory(): number {
  return typeof process.availableMemory === 'function' ? process.availableMemory() : freemem();
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/**
 * Outputs smaller than this are not weighed against the available memory: asking the system
 * takes about 0.1 ms, more than most eager ops, and a process short of 64 MiB is failing anyway.
 */
const SMALL_OUTPUTS_BYTES = 64 * 1024 * 1024;

/**
 * Throws a RangeError naming `op`, the output's shape and the bytes it needs when the outputs
 * cannot be allocated: an output longer than a typed array may be, or outputs that need more
 * memory than is available (`available()`, asked only for outputs of 64 MiB or more).
 */
export function checkOutputsFit(
  op: string,
  outputs: readonly { dtype: DType; shape: Shape }[],
  available: () => number = availableMemory,
): void {
  let total = 0;
  for (const { dtype, shape } of outputs) {
    const elements = shape.reduce((a, d) => a * d, 1);
    const bytes = elements * bytesPerElement(dtype);
    total += bytes;
    if (elements > constants.MAX_LENGTH) {
      throw new RangeError(
        `[${op}] output of shape ${formatShape(shape)} (${dtype}) would need ${formatBytes(bytes)}: ` +
          `${elements} elements, more than the ${constants.MAX_LENGTH} a typed array can hold. ` +
          'Use a smaller input (image size or batch).',
      );
    }
  }
  if (total < SMALL_OUTPUTS_BYTES) return;
  const free = available();
  // ONNX Runtime fills a buffer of its own, which onnxruntime-node then copies into the typed
  // array JavaScript gets: an output is in memory twice while the kernel returns.
  if (2 * total > free) {
    const what =
      outputs.length === 1 ? `output of shape ${formatShape(outputs[0]!.shape)}` : `${outputs.length} outputs`;
    throw new RangeError(
      `[${op}] ${what} would need ${formatBytes(total)}, twice over while ONNX Runtime hands it to JavaScript, ` +
        `and ${formatBytes(free)} of memory is available. ` +
        'Use a smaller input (image size or batch), or free memory.',
    );
  }
}
