import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PromiseLru } from './promise-lru.js';

const bytes =
  (n: number): (() => Promise<Uint8Array>) =>
  () =>
    Promise.resolve(new Uint8Array(n));

test('PromiseLru keeps the most recently used values within its bound and makes each key once', async () => {
  const evicted: number[] = [];
  const cache = new PromiseLru<Uint8Array>(
    10,
    (b) => b.byteLength,
    (b) => evicted.push(b.byteLength),
  );
  const made: string[] = [];
  const get = (key: string, n: number): Promise<Uint8Array> =>
    cache.get(key, () => {
      made.push(key);
      return bytes(n)();
    });
  await Promise.all([get('a', 4), get('a', 4)]);
  await get('b', 4);
  await get('a', 4); // a is now more recent than b
  await get('c', 4); // 12 bytes: b goes
  await get('a', 4);
  await get('b', 4); // c goes
  assert.deepEqual(made, ['a', 'b', 'c', 'b']);
  await get('huge', 11); // larger than the bound: returned, not kept, nothing else dropped
  await get('huge', 11);
  await get('a', 4);
  await get('b', 4);
  assert.deepEqual(made, ['a', 'b', 'c', 'b', 'huge', 'huge']);
  // What the bound dropped (b, then c) went to evict; the huge values were never kept.
  await Promise.resolve();
  assert.deepEqual(evicted, [4, 4]);
});

test('PromiseLru forgets a failure, so the next request tries again', async () => {
  const cache = new PromiseLru<Uint8Array>(10, (b) => b.byteLength);
  await assert.rejects(
    cache.get('a', () => Promise.reject(new Error('no'))),
    /no/,
  );
  assert.equal((await cache.get('a', bytes(3))).length, 3);
});

test('clear forgets every entry, made or being made, and hands their promises back', async () => {
  const cache = new PromiseLru<string>(2, () => 1);
  await cache.get('a', () => Promise.resolve('A'));
  const pending = cache.get('b', () => new Promise((resolve) => setTimeout(() => resolve('B'), 10)));
  assert.deepEqual(await Promise.all(cache.clear()), ['A', 'B']);
  assert.equal(await pending, 'B');
  assert.equal(await cache.get('a', () => Promise.resolve('A again')), 'A again');
});
