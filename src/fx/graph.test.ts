import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph } from './graph.js';

function chain(): { graph: Graph; names: () => string[] } {
  const graph = new Graph();
  const x = graph.placeholder('x');
  const a = graph.callFunction('relu', [x]);
  const b = graph.callFunction('add', [a, 1]);
  graph.callFunction('relu', [b]);
  graph.output(b);
  return { graph, names: () => [...graph.nodes()].map((n) => n.name) };
}

test('names get torch.fx counters and are valid, non-reserved identifiers', () => {
  const graph = new Graph();
  const names = ['relu', 'relu', 'layer1.0.conv1', '0', 'class', 'add_3', 'add', 'a-b"c'].map(
    (t) => graph.callFunction(t, []).name,
  );
  assert.deepEqual(names, ['relu', 'relu_1', 'layer1_0_conv1', '_0', 'class_1', 'add_3', 'add', 'a_b_c']);
});

test('eliminateDeadCode removes unused nodes only and reports whether it changed anything', () => {
  const { graph, names } = chain();
  assert.equal(graph.eliminateDeadCode(), true);
  assert.deepEqual(names(), ['x', 'relu', 'add', 'output']);
  assert.equal(graph.eliminateDeadCode(), false);
  graph.lint();
});

test('users are kept in step through replaceAllUsesWith and erase', () => {
  const { graph } = chain();
  const [x, relu, add] = [...graph.nodes()];
  assert.deepEqual(
    [...relu!.users].map((u) => u.name),
    ['add'],
  );
  add!.replaceAllUsesWith(relu!);
  assert.equal(add!.users.size, 0);
  graph.eraseNode(add!);
  assert.throws(() => graph.eraseNode(x!), /still used by relu/);
  graph.lint();
  assert.equal(graph.size, 4);
});

test('insertingBefore puts new nodes in order before the anchor', () => {
  const { graph, names } = chain();
  const output = graph.findOutput()!;
  graph.insertingBefore(output, () => {
    graph.callFunction('neg', []);
    graph.callFunction('exp', []);
  });
  assert.deepEqual(names().slice(-3), ['neg', 'exp', 'output']);
});

test('lint catches a use before definition', () => {
  const graph = new Graph();
  const x = graph.placeholder('x');
  const later = graph.callFunction('relu', [x]);
  graph.insertingBefore(later, () => graph.callFunction('neg', [later]));
  assert.throws(() => graph.lint(), /'neg' uses 'relu' before it is defined/);
});

test('toString prints a table with one row per node', () => {
  const { graph } = chain();
  const lines = graph.toString().split('\n');
  assert.match(lines[0]!, /^opcode\s+name\s+target\s+args$/);
  assert.equal(lines.length, 2 + 5);
  assert.match(lines[4]!, /call_function\s+add\s+add\s+\(%relu, 1\)$/);
});

test('building and pruning a 50,000-node graph stays linear', () => {
  const graph = new Graph();
  let prev = graph.placeholder('x');
  for (let i = 0; i < 50_000; i++) prev = graph.callFunction(i % 2 === 0 ? 'relu' : 'add', [prev]);
  graph.output(graph.placeholder('y'));
  assert.equal(graph.eliminateDeadCode(), true);
  assert.equal(graph.size, 3);
});
