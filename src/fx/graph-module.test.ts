import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Module } from '../nn/module.js';
import { F } from '../ops/index.js';
import { randn, tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { GraphModule } from './graph-module.js';
import { Graph } from './graph.js';
import type { Node } from './node.js';
import { Interpreter } from './interpreter.js';
import { symbolicTrace } from './symbolic-trace.js';

const HOSTILE = [
  'plain',
  '__proto__',
  'constructor',
  'class',
  'it\'s "quoted"',
  'back\\slash',
  'new\nline',
  '"); throw new Error("injected"); ("',
  '`${(() => { throw new Error("injected") })()}`',
  '\u2028',
];

class Shift extends Module<[Tensor], Tensor> {
  bias = tensor([1, 2]);
  forward(x: Tensor): Tensor {
    return x.add(this.bias);
  }
}

class Holder extends Module<[Tensor], Record<string, Tensor>> {
  constructor() {
    super();
    // Children under arbitrary keys, as a ModuleDict allows.
    // defineProperty, as plain assignment to '__proto__' would replace the prototype.
    for (const key of HOSTILE)
      Object.defineProperty(this, key, { value: new Shift(), enumerable: true, writable: true });
  }
  forward(x: Tensor): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const key of HOSTILE) {
      Object.defineProperty(out, key, {
        value: ((this as unknown as Record<string, Module>)[key] as Shift).call(x),
        enumerable: true,
      });
    }
    return out;
  }
}

test('module paths and output keys with quotes, newlines, __proto__ and keywords give valid code and exact keys', () => {
  const gm = symbolicTrace(new Holder());
  const out = gm.call(tensor([10, 20])) as Record<string, Tensor>;
  assert.deepEqual(Object.keys(out), HOSTILE);
  assert.equal(Object.getPrototypeOf(out), Object.prototype, '__proto__ is an own key, not the prototype');
  for (const key of HOSTILE) assert.deepEqual(out[key]!.toArray(), [11, 22]);
});

test('a module name containing a dot is refused, since node paths use dots', () => {
  const m = new Holder();
  Object.defineProperty(m, 'a.b', { value: new Shift(), enumerable: true });
  assert.throws(() => symbolicTrace(m), { name: 'TraceError', message: /module name 'a\.b' .*contains '\.'/ });
});

test('a graph module keeps only what its graph references and recompiles after edits', () => {
  class Two extends Module<[Tensor], Tensor> {
    used = new Shift();
    unused = new Shift();
    forward(x: Tensor): Tensor {
      return this.used.call(x);
    }
  }
  const gm = symbolicTrace(new Two());
  assert.deepEqual([...gm.stateDict().keys()], ['used.bias']);
  const output = gm.graph.findOutput()!;
  const result = output.args[0] as NonNullable<(typeof output.args)[0]>;
  gm.graph.insertingBefore(output, () => {
    const relu = gm.graph.callFunction('relu', [result]);
    output.args = [relu];
  });
  gm.recompile();
  assert.match(gm.code, /let relu = __ops\["relu"\]\(add\);\n {2}add = undefined;\n {2}return relu;/);
  assert.deepEqual((gm.call(tensor([-5, 1])) as Tensor).toArray(), [0, 3]);
});

test("the interpreter gives the graph module's result and names the failing node", () => {
  class Net extends Module<[Tensor], Tensor> {
    forward(x: Tensor): Tensor {
      return F.relu(F.conv2d(x, randn([2, 3, 1, 1])));
    }
  }
  const gm = symbolicTrace(new Net());
  const x = randn([1, 3, 4, 4]);
  const viaCode = gm.call(x) as Tensor;
  const viaInterpreter = new Interpreter(gm, gm.graph).run(x) as Tensor;
  assert.deepEqual(viaInterpreter.toArray(), viaCode.toArray());
  assert.throws(() => new Interpreter(gm, gm.graph).run(randn([1, 2, 4, 4])), {
    name: 'InterpreterError',
    message: /While executing %conv2d .*\[conv2d\] input has 2 channels/,
  });
});

test('generated code is readable: one statement per node, each value released after the statement that reads it last', () => {
  const graph = new Graph();
  const x = graph.placeholder('x');
  const r = graph.callFunction('relu', [x]);
  const sum = graph.callFunction('add', [r, x]);
  graph.callFunction('neg', [x]); // read by nothing: released where it is made
  graph.output({ out: sum, relu: r, scale: 0.5, nan: NaN, neg: -0 });
  const gm = new GraphModule(new Shift(), graph);
  assert.equal(
    gm.code,
    [
      'function forward(x) {',
      '  let relu = __ops["relu"](x);',
      '  let add = __ops["add"](relu, x);',
      '  let neg = __ops["neg"](x);',
      '  x = neg = undefined;',
      '  return { "out": add, "relu": relu, "scale": 0.5, "nan": NaN, "neg": -0 };',
      '}',
    ].join('\n'),
  );
  assert.deepEqual(((gm.call(tensor([-1, 2])) as Record<string, Tensor>).out as Tensor).toArray(), [-1, 4]);
});

test('clone gives a graph module with a copy of its graph, its own code and its own tensors', () => {
  class Two extends Module<[Tensor], Tensor> {
    used = new Shift();
    forward(x: Tensor): Tensor {
      return this.used.call(x).mul(2);
    }
  }
  const gm = symbolicTrace(new Two());
  // The first node points to the last computing one in its meta.
  const nodesOf = (g: Graph): Node[] => [...g.nodes()];
  const [first, mul] = [nodesOf(gm.graph)[0]!, nodesOf(gm.graph).at(-2)!];
  first.meta.users = { later: mul };
  const copy = gm.clone();
  assert.ok(copy instanceof GraphModule);
  assert.equal(copy.className, gm.className);
  assert.notEqual(copy.graph, gm.graph);
  assert.equal(copy.graph.toString(), gm.graph.toString());
  copy.graph.lint();
  const [copiedFirst, copiedMul] = [nodesOf(copy.graph)[0]!, nodesOf(copy.graph).at(-2)!];
  assert.equal(copiedMul.name, 'mul');
  assert.equal((copiedFirst.meta.users as { later: unknown }).later, copiedMul, 'meta points into the copy');
  assert.equal(copy.code, gm.code);
  assert.notEqual(copy.getSubmodule('used'), gm.getSubmodule('used'));
  assert.deepEqual((copy.call(tensor([1, 1])) as Tensor).toArray(), [4, 6]);

  const output = copy.graph.findOutput()!;
  copy.graph.insertingBefore(output, () => {
    output.args = [copy.graph.callFunction('neg', [copiedMul])];
  });
  copy.recompile();
  assert.deepEqual((copy.call(tensor([1, 1])) as Tensor).toArray(), [-4, -6]);
  assert.deepEqual((gm.call(tensor([1, 1])) as Tensor).toArray(), [4, 6], 'the original graph and code are unchanged');
  assert.doesNotMatch(gm.code, /neg/);
  assert.equal(gm.graph.size + 1, copy.graph.size);
});
