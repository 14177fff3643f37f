/**
 * `Tensor` methods, installed from the op registry: `x.relu()` is `F.relu(x)` recorded as a method
 * call. Each method is listed twice below, once for its type and once for the prototype, and
 * nothing else is written per method.
 */
import { Tensor } from '../tensor/tensor.js';
import { callOp } from './dispatch.js';
import * as F from './functional.js';
import type { AnyOp } from './op.js';

/** The method type of a functional op: its first parameter becomes `this`. */
type Method<Fn> = Fn extends (self: Tensor, ...rest: infer R) => infer O ? (...rest: R) => O : never;

declare module '../tensor/tensor.js' {
  interface Tensor {
    add: Method<typeof F.add>;
    relu: Method<typeof F.relu>;
    // (numeric ops: add entries above this line)
    // (shape ops: add entries above this line)
  }
}

const methods: Record<string, AnyOp> = {
  add: F.add,
  relu: F.relu,
  // (numeric ops: add entries above this line)
  // (shape ops: add entries above this line)
} as unknown as Record<string, AnyOp>;

for (const [method, op] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, method, {
    value: function (this: Tensor, ...args: unknown[]) {
      return callOp(op, [this, ...args], true);
    },
    writable: true,
    configurable: true,
  });
}
