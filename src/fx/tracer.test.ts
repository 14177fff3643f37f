import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TraceError } from '../errors.js';
import { Module } from '../nn/module.js';
import { F } from '../ops/index.js';
import { randn } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import { Tracer } from './tracer.js';
import { symbolicTrace } from './symbolic-trace.js';
import { wrap } from './wrap.js';

class AddRelu extends Module<[Tensor], Tensor> {
  weight = randn([4]);
  forward(x: Tensor): Tensor {
    return F.relu(x.add(this.weight)).relu();
  }
}

function summary(m: Module, tracer = new Tracer()): string[] {
  return [...tracer.trace(m).nodes()].map((n) => `${n.op}:${n.name}`);
}

test('tracing records functions, methods, parameters and the output, running no kernel', () => {
  assert.deepEqual(summary(new AddRelu()), [
    'placeholder:x',
    'get_attr:weight',
    'call_method:add',
    'call_function:relu',
    'call_method:relu_1',
    'output:output',
  ]);
});

test('placeholders take the names of forward parameters, minus concrete arguments', () => {
  class TwoInputs extends Module {
    forward(image: Tensor, scale = 2, /* comment, with comma */ bias?: Tensor): Tensor {
      const y = image.add(scale);
      return bias === undefined ? y : y.add(bias);
    }
  }
  const graph = new Tracer().trace(new TwoInputs(), { concreteArgs: { bias: undefined } });
  const placeholders = [...graph.nodes()].filter((n) => n.op === 'placeholder').map((n) => n.name);
  assert.deepEqual(placeholders, ['image', 'scale']);
  assert.throws(() => new Tracer().trace(new TwoInputs(), { concreteArgs: { nope: 1 } }), {
    name: 'TraceError',
    message: /concreteArgs names 'nope', which is not a parameter of forward \(image, scale, bias\)/,
  });
});

test('using a traced value as a JS number throws a TraceError naming the node and the fixes', () => {
  class Branchy extends Module {
    forward(x: Tensor): Tensor {
      const s = F.relu(x);
      if ((s as unknown as number) > 0) return s;
      return x;
    }
  }
  assert.throws(
    () => new Tracer().trace(new Branchy()),
    (e: unknown) => {
      assert.ok(e instanceof TraceError);
      assert.match(e.message, /traced value 'relu'.*used as a JS number/);
      assert.match(e.message, /leafModules/);
      assert.match(e.message, /wrap\(fn\)/);
      assert.match(e.message, /concreteArgs/);
      return true;
    },
  );
});

test('reading data from a traced value is a TraceError', () => {
  class ItemUser extends Module {
    forward(x: Tensor): number {
      return x.item();
    }
  }
  assert.throws(() => new Tracer().trace(new ItemUser()), { name: 'TraceError', message: /read with \.item/ });
});

test('wrap records a global leaf function as one node; plain calls run the function', () => {
  const calls: unknown[] = [];
  const myLen = wrap(function myLen(x: Tensor): number {
    calls.push(x);
    return x.shape[0]!;
  });
  class UsesLen extends Module {
    forward(x: Tensor): Tensor {
      myLen(x);
      return x.relu();
    }
  }
  const gm = symbolicTrace(new UsesLen());
  assert.deepEqual(
    [...gm.graph.nodes()].map((n) => n.name),
    ['x', 'my_len', 'relu', 'output'],
  );
  assert.equal(calls.length, 0, 'tracing did not call the function');
  assert.equal(myLen(randn([3, 2])), 3);
});

test('a non-global wrapper is a leaf only where autowrapFunctions lists it', () => {
  const double = wrap(
    function double(x: Tensor): Tensor {
      return x.add(x);
    },
    { global: false },
  );
  class UsesDouble extends Module {
    forward(x: Tensor): Tensor {
      return double(x);
    }
  }
  assert.deepEqual(summary(new UsesDouble()), ['placeholder:x', 'call_method:add', 'output:output']);
  assert.deepEqual(summary(new UsesDouble(), new Tracer({ autowrapFunctions: [double] })), [
    'placeholder:x',
    'call_function:double',
    'output:output',
  ]);
});

test('a module called but not installed as a submodule is a TraceError', () => {
  const stray = new AddRelu();
  class CallsStray extends Module {
    forward(x: Tensor): Tensor {
      return stray.call(x);
    }
  }
  assert.throws(() => new Tracer().trace(new CallsStray()), {
    name: 'TraceError',
    message: /AddRelu was called during tracing but is not a submodule of the traced CallsStray/,
  });
});

test('the traced module gives the same numbers as the original', () => {
  const m = new AddRelu();
  const gm = symbolicTrace(m);
  const x = randn([2, 4]);
  assert.deepEqual((gm.call(x) as Tensor).toArray(), m.call(x).toArray());
});

test('a traced module whose child is a GraphModule traces through the child, its parameters by path', () => {
  // As the user guide's Resnet50WithFPN holds a feature extractor: compiling the outer module traces it.
  class Outer extends Module<[Tensor], Tensor> {
    body = symbolicTrace(new AddRelu());
    forward(x: Tensor): Tensor {
      return (this.body.call(x) as Tensor).mul(2);
    }
  }
  const outer = new Outer();
  const nodes = [...new Tracer().trace(outer).nodes()].map((n) => `${n.op}:${n.target as string}`);
  assert.deepEqual(nodes, [
    'placeholder:x',
    'get_attr:body.weight',
    // The child's generated code calls every op as a function.
    'call_function:add',
    'call_function:relu',
    'call_function:relu',
    'call_method:mul',
    'output:output',
  ]);
});

test("x.shape.slice(-2) records torch's x.shape[-2:]: one getitem with a slice, sizes from the input", () => {
  class ResizeBack extends Module<[Tensor], Tensor> {
    forward(x: Tensor): Tensor {
      const [h, w] = x.shape.slice(-2) as [number, number];
      return F.interpolate(F.avgPool2d(x, { kernelSize: 2 }), { size: [h, w] });
    }
  }
  const traced = symbolicTrace(new ResizeBack());
  const getitems = [...traced.graph.nodes()].filter((n) => n.target === 'getitem').map((n) => String(n.args[1]));
  assert.deepEqual(getitems, ['slice(-2, null, null)', '0', '1']);
  for (const size of [8, 12])
    assert.deepEqual((traced.call(randn([1, 2, size, size])) as Tensor).shape, [1, 2, size, size]);
});
