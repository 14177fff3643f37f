import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateDictError } from '../errors.js';
import { F } from '../ops/index.js';
import { ones, randn, tensor, zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import * as nn from './index.js';
import { skipInit } from './init.js';
import { Module } from './module.js';

class Block extends Module<[Tensor], Tensor> {
  conv = new nn.Conv2d(2, 3, 1);
  bn = new nn.BatchNorm2d(3);
  forward(x: Tensor): Tensor {
    return this.bn.call(this.conv.call(x));
  }
}

class Net extends Module<[Tensor], Tensor> {
  stem = new Block();
  layers = new nn.Sequential<Tensor>(new Block(), new nn.ReLU());
  scale = ones([1]);
  forward(x: Tensor): Tensor {
    return this.layers.call(this.stem.call(x)).mul(this.scale);
  }
}

test('modules, parameters and buffers are found in declaration order with PyTorch names', () => {
  const net = new Net();
  assert.deepEqual(
    [...net.namedModules()].map(([n]) => n),
    ['', 'stem', 'stem.conv', 'stem.bn', 'layers', 'layers.0', 'layers.0.conv', 'layers.0.bn', 'layers.1'],
  );
  assert.deepEqual(
    [...net.namedParameters()].map(([n]) => n),
    [
      'scale',
      'stem.conv.weight',
      'stem.conv.bias',
      'stem.bn.weight',
      'stem.bn.bias',
      'layers.0.conv.weight',
      'layers.0.conv.bias',
      'layers.0.bn.weight',
      'layers.0.bn.bias',
    ],
  );
  assert.deepEqual(
    [...net.stateDict().keys()].filter((k) => k.startsWith('stem.bn')),
    ['stem.bn.weight', 'stem.bn.bias', 'stem.bn.running_mean', 'stem.bn.running_var', 'stem.bn.num_batches_tracked'],
  );
});

test('loadStateDict is strict: one error lists missing, unexpected and mis-shaped keys, and nothing is loaded', () => {
  const net = new Net();
  const sd = net.stateDict();
  const original = net.stem.conv.weight;
  sd.delete('stem.bn.running_var');
  sd.set('extra.weight', zeros([1]));
  sd.set('layers.0.conv.weight', zeros([9, 9, 1, 1]));
  sd.set('stem.conv.weight', zeros([3, 2, 1, 1]));
  assert.throws(
    () => net.loadStateDict(sd),
    (e: unknown) => {
      assert.ok(e instanceof StateDictError);
      assert.deepEqual(e.missingKeys, ['stem.bn.running_var']);
      assert.deepEqual(e.unexpectedKeys, ['extra.weight']);
      assert.match(e.message, /missing keys \(1\): stem\.bn\.running_var/);
      assert.match(e.message, /unexpected keys \(1\): extra\.weight/);
      assert.match(
        e.message,
        /layers\.0\.conv\.weight: checkpoint float32 \[9, 9, 1, 1\], model float32 \[3, 2, 1, 1\]/,
      );
      return true;
    },
  );
  assert.equal(net.stem.conv.weight, original, 'a failed load changes nothing');
  sd.set('layers.0.conv.weight', zeros([3, 2, 1, 1]));
  const result = net.loadStateDict(sd, { strict: false });
  assert.deepEqual(result, { missingKeys: ['stem.bn.running_var'], unexpectedKeys: ['extra.weight'] });
  assert.deepEqual(net.stem.conv.weight.toArray(), zeros([3, 2, 1, 1]).toArray());
});

test('train and eval reach every descendant; forward hooks see inputs and may replace outputs', () => {
  const net = new Net().eval();
  assert.ok(net.modules().every((m) => !m.training));
  net.train();
  assert.ok(net.modules().every((m) => m.training));
  const block = new Block().eval();
  const seen: unknown[] = [];
  const handle = block.registerForwardHook((_m, inputs, output) => {
    seen.push(inputs.length);
    return (output as Tensor).mul(0).abs();
  });
  const out = block.call(ones([1, 2, 2, 2]));
  assert.deepEqual(seen, [1]);
  assert.deepEqual(out.toArray(), zeros([1, 3, 2, 2]).toArray());
  handle.remove();
  assert.notDeepEqual(block.call(ones([1, 2, 2, 2])).toArray(), zeros([1, 3, 2, 2]).toArray());
});

test('getSubmodule walks dotted paths and names the missing part', () => {
  const net = new Net();
  assert.equal(net.getSubmodule('layers.0.bn'), (net.layers.at(0) as Block).bn);
  assert.throws(() => net.getSubmodule('layers.7'), {
    name: 'RangeError',
    message: /'layers' \(Sequential\) has no submodule '7'/,
  });
});

test('containers refuse names that would break paths, and ModuleList is not callable', () => {
  assert.throws(() => new nn.ModuleDict({ 'a.b': new nn.ReLU() }), /must be non-empty and contain no '\.'/);
  const list = new nn.ModuleList([new nn.ReLU()]);
  assert.throws(() => (list as unknown as Module<[], unknown>).call(), /ModuleList is not callable/);
});

test('skipInit builds modules without drawing weights, and initialises again afterwards, even after an error', () => {
  const skipped = skipInit(() => new nn.Conv2d(3, 8, 3));
  assert.ok((skipped.weight.data as Float32Array).every((v) => v === 0));
  assert.throws(
    () =>
      skipInit(() => {
        throw new Error('builder failed');
      }),
    /builder failed/,
  );
  const drawn = new nn.Conv2d(3, 8, 3);
  assert.ok((drawn.weight.data as Float32Array).some((v) => v !== 0));
  // Non-random initial values are kept: a norm layer's weight is still one.
  assert.ok((skipInit(() => new nn.BatchNorm2d(4)).weight!.data as Float32Array).every((v) => v === 1));
});

test('clone, the TSDoc example: same class and mode, data copied, code shared', () => {
  class Scaled extends Module<[Tensor], Tensor> {
    conv = new nn.Conv2d(3, 8, 3);
    factors = [1, 2]; // data: copied
    act = F.relu; // code: shared
    forward(x: Tensor): Tensor {
      return this.act(this.conv.call(x)).mul(this.factors[1]!);
    }
  }
  const a = new Scaled().eval();
  const b = a.clone();
  assert.ok(b instanceof Scaled);
  assert.equal(b.training, false);
  assert.equal(b.conv.training, false);
  assert.notEqual(b.conv, a.conv);
  assert.notEqual(b.conv.weight, a.conv.weight);
  assert.deepEqual(b.conv.weight.toArray(), a.conv.weight.toArray());
  assert.notEqual(b.factors, a.factors);
  assert.deepEqual(b.factors, [1, 2]);
  assert.equal(b.act, a.act);
  const x = randn([1, 3, 5, 5]);
  assert.deepEqual(b.call(x).toArray(), a.call(x).toArray());
  b.factors[1] = 3;
  assert.equal(a.factors[1], 2, "changing the copy's array leaves the original's");
});

test('clone is independent: buffers, loaded state dicts and tensor data of one do not reach the other', () => {
  const net = new Net();
  const copy = net.clone();
  assert.deepEqual([...copy.stateDict().keys()], [...net.stateDict().keys()]);
  for (const [key, t] of copy.stateDict()) assert.notEqual(t, net.stateDict().get(key), `${key} is a new tensor`);
  const copyBn = copy.stem.bn;
  assert.equal(copyBn.isBuffer('running_mean'), true, 'buffers stay buffers');
  // Running statistics move in the copy only (BatchNorm replaces its buffers in train mode).
  copy.stem.train().call(randn([2, 2, 3, 3]));
  assert.deepEqual(net.stem.bn.running_mean!.toArray(), [0, 0, 0]);
  assert.notDeepEqual(copyBn.running_mean!.toArray(), [0, 0, 0]);
  net.loadStateDict(new Map([...net.stateDict()].map(([k, t]) => [k, zeros([...t.shape], { dtype: t.dtype })])));
  assert.ok(
    (copy.stem.conv.weight.data as Float32Array).some((v) => v !== 0),
    'loading into the original',
  );
  (copy.scale.data as Float32Array)[0] = 7;
  assert.equal(net.scale.item(), 0, "writing the copy's tensor data");
});

test('clone keeps sharing: a module or tensor found twice is one in the copy', () => {
  class Tied extends Module<[Tensor], Tensor> {
    block = new Block();
    again: Block;
    table: Record<string, unknown>;
    constructor() {
      super();
      this.again = this.block;
      this.table = { weight: this.block.conv.weight, list: [this.block] };
    }
    forward(x: Tensor): Tensor {
      return this.again.call(this.block.call(x));
    }
  }
  const tied = new Tied();
  const copy = tied.clone();
  assert.equal(copy.again, copy.block);
  assert.notEqual(copy.block, tied.block);
  assert.equal(copy.table.weight, copy.block.conv.weight);
  assert.equal((copy.table.list as unknown[])[0], copy.block);
  assert.equal(copy.modules().length, tied.modules().length);
  assert.equal(copy.parameters().length, tied.parameters().length);
});

test('clone copies the hooks registered at that time; a handle removes its hook from its own module only', () => {
  const block = new Block().eval();
  const calls: string[] = [];
  const handle = block.registerForwardHook(() => void calls.push('hook'));
  block.registerForwardPreHook(() => void calls.push('pre'));
  const copy = block.clone();
  handle.remove();
  copy.call(ones([1, 2, 1, 1]));
  assert.deepEqual(calls, ['pre', 'hook']);
  calls.length = 0;
  block.call(ones([1, 2, 1, 1]));
  assert.deepEqual(calls, ['pre']);
});

test('forward pre-hooks run before forward and may replace its arguments', () => {
  const relu = new nn.ReLU();
  const seen: unknown[] = [];
  const handle = relu.registerForwardPreHook((m, inputs) => {
    seen.push(m, inputs.length);
    return [(inputs[0] as Tensor).neg()];
  });
  relu.registerForwardHook((_m, inputs) => void seen.push((inputs[0] as Tensor).toArray()));
  assert.deepEqual(relu.call(tensor([-1, 2])).toArray(), [1, 0]);
  assert.deepEqual(seen, [relu, 1, [1, -2]], 'forward hooks see the replaced arguments');
  handle.remove();
  assert.deepEqual(relu.call(tensor([-1, 2])).toArray(), [0, 2]);
  relu.registerForwardPreHook(() => tensor([1]) as unknown as unknown[]);
  assert.throws(() => relu.call(tensor([1])), {
    name: 'TypeError',
    message: /a pre-hook of ReLU returned Tensor\(float32, \[1\]\); return an array of arguments to replace them/,
  });
});

test('parameters require grad by default, buffers do not; requiresGrad_(false) freezes; zeroGrad clears', () => {
  const linear = new nn.Linear(3, 2);
  const net = new nn.Sequential(linear, new nn.BatchNorm2d(2));
  assert.ok(net.parameters().every((p) => p.requiresGrad));
  assert.ok(net.buffers().every((b) => !b.requiresGrad));
  const loss = (): Tensor => linear.call(ones([1, 3])).sum();
  loss().backward();
  const weight = linear.weight;
  assert.deepEqual(weight.grad!.toArray(), [
    [1, 1, 1],
    [1, 1, 1],
  ]);
  net.zeroGrad();
  assert.equal(weight.grad, null);
  net.requiresGrad_(false);
  assert.equal(loss().requiresGrad, false);
  // A frozen parameter stays frozen in a clone and after a load that assigns new tensors.
  assert.equal(net.clone().parameters()[0]!.requiresGrad, false);
  net.loadStateDict(net.clone().stateDict(), { assign: true });
  assert.equal(linear.weight.requiresGrad, false);
});

test("loadStateDict copies values into the module's own tensors unless assign", () => {
  const net = new nn.Linear(2, 2);
  const weight = net.weight;
  const sd = new Map([...net.stateDict()].map(([k, t]) => [k, ones([...t.shape])]));
  net.loadStateDict(sd);
  assert.equal(net.weight, weight, 'the same tensor object, so optimizers made before still hold it');
  assert.deepEqual(Array.from(weight.data as Float32Array), [1, 1, 1, 1]);
  assert.notEqual(net.weight.data, sd.get('weight')!.data, "the checkpoint's storage is not shared");
  assert.equal(weight.version, 1, 'the copy is counted, so compiled modules see the change');
  assert.throws(
    () => weight.copy_(ones([4])),
    /\[copy_\] cannot write a float32 tensor of shape \[4\] into a float32 tensor of shape \[2, 2\]/,
  );
  net.loadStateDict(sd, { assign: true });
  assert.equal(net.weight, sd.get('weight'));
});
