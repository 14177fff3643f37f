/**
 * Checks of the options objects that `compile` and `exportOnnx` take, so that a wrong call says
 * what is wrong and how to write it instead of failing somewhere inside.
 */

/** A value as a message shows what was given instead: `the string "a.onnx"`, `number 0`, `an array`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value !== 'object') return `${typeof value} ${String(value)}`;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  const name = proto?.constructor?.name;
  return name === undefined || name === 'Object' ? 'an object' : `a ${name}`;
}

/**
 * `options` must be a plain object holding only `keys`. `call` is how the function is called
 * (`exportOnnx(module, options)`), `example` a correct call shown in the message.
 */
export function checkOptionsObject(call: string, options: unknown, keys: readonly string[], example: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${call}: options must be an object, got ${describeValue(options)}; for example ${example}`);
  }
  const unknown = Object.keys(options).filter((k) => !keys.includes(k));
  if (unknown.length > 0) {
    throw new TypeError(
      `${call}: unknown option(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; ` +
        `the options are ${keys.join(', ')}`,
    );
  }
}

/** A whole number ≥ 1 (thread counts, cache sizes, dimensions). */
export function checkPositiveInteger(label: string, value: unknown): void {
  if (typeof value !== 'number')
    throw new TypeError(`${label} must be a positive integer, got ${describeValue(value)}`);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${label} must be a positive integer, got ${value}`);
}

export function checkOneOf(label: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string') {
    throw new TypeError(
      `${label} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describeValue(value)}`,
    );
  }
  if (!allowed.includes(value)) {
    throw new RangeError(`${label} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got '${value}'`);
  }
}

export function checkBoolean(label: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new TypeError(`${label} must be true or false, got ${describeValue(value)}`);
}

/** The shapes `inputShape` gives, checked: one array of positive integers, or an array of them. */
export function checkedInputShapes(inputShape: unknown): number[][] {
  const example = 'for example { inputShape: [1, 3, 224, 224] }, or [[1, 3, 224, 224], [1, 10]] for two inputs';
  if (inputShape === undefined) {
    throw new TypeError(`exportOnnx: options.inputShape is required (the size of each input); ${example}`);
  }
  if (!Array.isArray(inputShape)) {
    throw new TypeError(
      `exportOnnx: inputShape must be an array of sizes, got ${describeValue(inputShape)}; ${example}`,
    );
  }
  const several = inputShape.length > 0 && inputShape.every((s) => Array.isArray(s));
  const shapes = (several ? inputShape : [inputShape]) as unknown[][];
  shapes.forEach((shape, i) =>
    shape.forEach((d, axis) => checkPositiveInteger(`exportOnnx: inputShape${several ? `[${i}]` : ''}[${axis}]`, d)),
  );
  return shapes.map((s) => [...(s as number[])]);
}

export const MODES = ['train', 'eval'] as const;
