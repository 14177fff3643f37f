import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteLru } from '../../src/serve/byte-lru.js';

const bytes =
  (n: number): (() => Promise<Uint8Array>) =>
  () =>
    Promise.resolve(new Uint8Array(n));

test('ByteLru keeps the most recently used bytes within its bound and makes each key once', async () => {
  const cache = new ByteLru(10);
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
});

test('ByteLru forgets a failure, so the next request tries again', async () => {
  const cache = new ByteLru(10);
  await assert.rejects(
    cache.get('a', () => Promise.reject(new Error('no'))),
    /no/,
  );
  assert.equal((await cache.get('a', bytes(3))).length, 3);
});
