/**
 * Traced values: what model code receives instead of tensors while it is traced (torch.fx's
 * `Proxy`). A traced value inherits every `Tensor` method, so `x.relu()` and `F.relu(x)` reach
 * the op dispatcher, which sees a traced argument and asks the tracer to record a node.
 *
 * TypeScript has no operator overloading, so what torch.fx gets from `__add__`, `__getitem__` and
 * `__iter__` is done here with a JavaScript `Proxy` around each traced value:
 * - `x.shape` and `x.dtype` give traced attributes (a `getattr` node, created when first used);
 * - `v[i]` records `getitem` (so `x.shape[0]` works, as do chunk/split results);
 * - destructuring (`const [n, c] = x.shape`) records one `getitem` per element taken, and
 *   `x.shape.slice(-2)` one `getitem` with a slice (torch's `x.shape[-2:]`);
 * - turning a traced value into a JS number, string or boolean throws a `TraceError` that names
 *   the node and the way out (leaf modules, `wrap`, `concreteArgs`).
 */
import { TraceError } from '../errors.js';
import { Slice } from '../ops/getitem.js';
import { getOp } from '../ops/registry.js';
import { TRACED } from '../ops/tracing-hook.js';
import { Tensor } from '../tensor/tensor.js';
import type { Node } from './node.js';

/** What a traced value needs from the tracer that made it. */
export interface ProxyOwner {
  createProxy(op: 'call_function', target: string, args: readonly unknown[]): TracedValue;
  /** The node behind a traced value, created on demand for lazily recorded attributes. */
  nodeOf(value: TracedValue): Node;
}

/** Beyond this many elements, iterating a traced value is taken to be a mistake (e.g. `[...x.shape]`). */
const MAX_ITERATION = 64;

const NUMERIC_KEY = /^(0|[1-9][0-9]*)$/;

/** Where in user code the current operation happened: the first stack frame outside featurefx. */
function userLocation(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  const user = frames.find(
    (f) =>
      !/[\\/](src|dist)[\\/](fx|ops|nn|featureExtraction)[\\/]/.test(f) &&
      !f.includes('node:') &&
      !f.includes('<anonymous>'),
  );
  return user === undefined ? '' : ` (${user.trim()})`;
}

export function traceErrorFor(value: TracedValue, usage: string): TraceError {
  const what = value.describe();
  return new TraceError(
    `${what} was ${usage}${userLocation()}. Traced values stand for data that does not exist yet, so ` +
      `they cannot become JS numbers, strings or booleans, or steer control flow. Ways out: make the ` +
      `module containing this code a leaf (tracerOptions.leafModules), wrap the function that needs real ` +
      `values with wrap(fn) so it is recorded as one node, fix the argument with concreteArgs, or do size ` +
      `arithmetic with F.add / F.mul / F.floordiv, which record nodes.`,
  );
}

/**
 * A traced value. Instances are created by `createTracedValue` (never with `new`): they have
 * `Tensor.prototype` in their chain but none of a tensor's data.
 */
export class TracedValue {
  declare readonly [TRACED]: true;
  /** The node, or undefined for an attribute whose `getattr` node is created on first use. */
  node: Node | undefined;
  readonly owner: ProxyOwner;
  /** For lazily recorded attributes (`x.shape`): the value and attribute name. */
  readonly attribute: { of: TracedValue; name: string } | undefined;

  constructor(owner: ProxyOwner, node: Node | undefined, attribute?: { of: TracedValue; name: string }) {
    this.owner = owner;
    this.node = node;
    this.attribute = attribute;
  }

  toString(): string {
    return this.node !== undefined ? `TracedValue(${this.node.name})` : `TracedValue(.${this.attribute!.name})`;
  }

  describe(): string {
    if (this.node !== undefined) return `the traced value '${this.node.name}' (${this.node.format()})`;
    return `the traced attribute '.${this.attribute!.name}' of ${this.attribute!.of.describe()}`;
  }
}

// Traced values answer to every Tensor method (installed on Tensor.prototype by the ops layer).
Object.setPrototypeOf(TracedValue.prototype, Tensor.prototype);
Object.defineProperty(TracedValue.prototype, TRACED, { value: true });

const getitem = (): string => getOp('getitem').name;

function lazyAttribute(value: TracedValue, name: string): TracedValue {
  return wrapInProxy(new TracedValue(value.owner, undefined, { of: value, name }));
}

function* iterate(value: TracedValue): Generator<TracedValue> {
  for (let i = 0; i < MAX_ITERATION; i++) yield value.owner.createProxy('call_function', getitem(), [value, i]);
  throw new TraceError(
    `${value.describe()} was iterated past ${MAX_ITERATION} elements${userLocation()}: its length is not known ` +
      `while tracing. Destructure a fixed number of elements (const [n, c, h, w] = x.shape) or index it (x.shape[1]).`,
  );
}

/** Properties that read data and so cannot work on a traced value. */
const DATA_ACCESSORS = new Set(['data', 'item', 'toArray', 'numel', 'length']);

const handler: ProxyHandler<TracedValue> = {
  get(target, key, receiver) {
    if (typeof key === 'string') {
      if (NUMERIC_KEY.test(key)) return target.owner.createProxy('call_function', getitem(), [receiver, Number(key)]);
      if (key === 'shape' || key === 'dtype' || key === 'ndim') return lazyAttribute(receiver as TracedValue, key);
      // Array's slice, for sizes: `x.shape.slice(-2)` records getitem(shape, slice(-2)), torch's `x.shape[-2:]`.
      if (key === 'slice') {
        return (start?: number, end?: number) =>
          target.owner.createProxy('call_function', getitem(), [receiver, new Slice(start ?? null, end ?? null)]);
      }
      if (DATA_ACCESSORS.has(key)) {
        throw traceErrorFor(
          target,
          `read with .${key}${key === 'length' ? ' (its length is not known while tracing)' : ''}`,
        );
      }
    }
    if (key === Symbol.iterator) return () => iterate(receiver as TracedValue);
    if (key === Symbol.toPrimitive) {
      return (hint: string) => {
        throw traceErrorFor(
          target,
          hint === 'string' ? 'used as a string' : 'used as a JS number (arithmetic or comparison)',
        );
      };
    }
    if (key === 'valueOf' || key === 'toJSON') {
      return () => {
        throw traceErrorFor(target, 'converted to a plain JS value');
      };
    }
    return Reflect.get(target, key, receiver) as unknown;
  },
};

function wrapInProxy(value: TracedValue): TracedValue {
  return new Proxy(value, handler);
}

/** A traced value standing for `node`'s result. */
export function createTracedValue(owner: ProxyOwner, node: Node): TracedValue {
  return wrapInProxy(new TracedValue(owner, node));
}

export function isTracedValue(x: unknown): x is TracedValue {
  return x instanceof TracedValue;
}
