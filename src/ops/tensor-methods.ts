/**
 * `Tensor` methods, installed from the op registry: `x.relu()` is `F.relu(x)` recorded as a method
 * call. Each method is listed twice below, once for its type and once for the prototype, and
 * nothing else is written per method.
 */
// `tensor.backward()` comes with the methods, from the autograd engine.
import '../autograd/tensor-backward.js';
import { Tensor } from '../tensor/tensor.js';
import { callOp } from './dispatch.js';
import * as F from './functional.js';
import type { AnyOp } from './op.js';
import type { SizeMethod } from './size.js';

/** The method type of a functional op: its first parameter becomes `this`. */
type Method<Fn> = Fn extends (self: Tensor, ...rest: infer R) => infer O ? (...rest: R) => O : never;

declare module '../tensor/tensor.js' {
  interface Tensor {
    abs: Method<typeof F.abs>;
    add: Method<typeof F.add>;
    amax: Method<typeof F.amax>;
    argmax: Method<typeof F.argmax>;
    bmm: Method<typeof F.bmm>;
    clamp: Method<typeof F.clamp>;
    div: Method<typeof F.div>;
    eq: Method<typeof F.eq>;
    erf: Method<typeof F.erf>;
    exp: Method<typeof F.exp>;
    ceil: Method<typeof F.ceil>;
    floor: Method<typeof F.floor>;
    ge: Method<typeof F.ge>;
    gt: Method<typeof F.gt>;
    le: Method<typeof F.le>;
    log: Method<typeof F.log>;
    log2: Method<typeof F.log2>;
    logicalAnd: Method<typeof F.logicalAnd>;
    logicalNot: Method<typeof F.logicalNot>;
    logicalOr: Method<typeof F.logicalOr>;
    logSoftmax: Method<typeof F.logSoftmax>;
    lt: Method<typeof F.lt>;
    maskedFill: Method<typeof F.maskedFill>;
    matmul: Method<typeof F.matmul>;
    maximum: Method<typeof F.maximum>;
    mean: Method<typeof F.mean>;
    minimum: Method<typeof F.minimum>;
    mul: Method<typeof F.mul>;
    ne: Method<typeof F.ne>;
    neg: Method<typeof F.neg>;
    pow: Method<typeof F.pow>;
    relu: Method<typeof F.relu>;
    round: Method<typeof F.round>;
    sigmoid: Method<typeof F.sigmoid>;
    softmax: Method<typeof F.softmax>;
    sqrt: Method<typeof F.sqrt>;
    sub: Method<typeof F.sub>;
    sum: Method<typeof F.sum>;
    tanh: Method<typeof F.tanh>;
    topk: (k: number, options?: F.TopkOptions) => [Tensor, Tensor];
    chunk: Method<typeof F.chunk>;
    contiguous: Method<typeof F.contiguous>;
    dim: () => number;
    expand: Method<typeof F.expand>;
    flatten: Method<typeof F.flatten>;
    getitem: Method<typeof F.getitem>;
    indexPut: Method<typeof F.indexPut>;
    indexSelect: Method<typeof F.indexSelect>;
    nonzero: Method<typeof F.nonzero>;
    permute: Method<typeof F.permute>;
    repeat: Method<typeof F.repeat>;
    reshape: Method<typeof F.reshape>;
    roll: Method<typeof F.roll>;
    size: SizeMethod;
    split: Method<typeof F.split>;
    squeeze: Method<typeof F.squeeze>;
    to: Method<typeof F.to>;
    transpose: Method<typeof F.transpose>;
    unsqueeze: Method<typeof F.unsqueeze>;
    view: Method<typeof F.view>;
  }
}

const methods: Record<string, unknown> = {
  abs: F.abs,
  add: F.add,
  amax: F.amax,
  argmax: F.argmax,
  bmm: F.bmm,
  clamp: F.clamp,
  div: F.div,
  eq: F.eq,
  erf: F.erf,
  exp: F.exp,
  ceil: F.ceil,
  floor: F.floor,
  ge: F.ge,
  gt: F.gt,
  le: F.le,
  log: F.log,
  log2: F.log2,
  logicalAnd: F.logicalAnd,
  logicalNot: F.logicalNot,
  logicalOr: F.logicalOr,
  logSoftmax: F.logSoftmax,
  lt: F.lt,
  maskedFill: F.maskedFill,
  matmul: F.matmul,
  maximum: F.maximum,
  mean: F.mean,
  minimum: F.minimum,
  mul: F.mul,
  ne: F.ne,
  neg: F.neg,
  pow: F.pow,
  relu: F.relu,
  round: F.round,
  sigmoid: F.sigmoid,
  softmax: F.softmax,
  sqrt: F.sqrt,
  sub: F.sub,
  sum: F.sum,
  tanh: F.tanh,
  topk: F.topk,
  chunk: F.chunk,
  contiguous: F.contiguous,
  dim: F.dim,
  expand: F.expand,
  flatten: F.flatten,
  getitem: F.getitem,
  indexPut: F.indexPut,
  indexSelect: F.indexSelect,
  nonzero: F.nonzero,
  permute: F.permute,
  repeat: F.repeat,
  reshape: F.reshape,
  roll: F.roll,
  size: F.size,
  split: F.split,
  squeeze: F.squeeze,
  to: F.to,
  transpose: F.transpose,
  unsqueeze: F.unsqueeze,
  view: F.view,
};

for (const [method, op] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, method, {
    value: function (this: Tensor, ...args: unknown[]) {
      return callOp(op as AnyOp, [this, ...args], true);
    },
    writable: true,
    configurable: true,
  });
}
