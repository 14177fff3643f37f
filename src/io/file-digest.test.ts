import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileDigestStats, fileIdentity, fileSha256 } from './file-digest.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'featurefx-digest-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
/** A time at which every file written by the test has been left alone long enough to be remembered. */
const later = (): number => Date.now() + 60_000;

/** The digest and whether it came from the memo. */
function digest(path: string, memoDir: string, now?: number): { sha256: string; remembered: boolean } {
  const before = fileDigestStats.remembered;
  const sha = fileSha256(path, memoDir, now);
  return { sha256: sha, remembered: fileDigestStats.remembered > before };
}

test('a settled file is read once: its digest is remembered by identity', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'w.pth');
  writeFileSync(file, 'weights one');
  const memo = join(dir, 'cache');
  assert.deepEqual(digest(file, memo, later()), { sha256: sha256('weights one'), remembered: false });
  assert.deepEqual(digest(file, memo, later()), { sha256: sha256('weights one'), remembered: true });
  assert.equal(fileSha256(file), sha256('weights one'));
});

test('a file written just now is not remembered: a write in the same clock tick would keep its identity', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'w.pth');
  writeFileSync(file, 'fresh');
  const memo = join(dir, 'cache');
  assert.deepEqual(digest(file, memo), { sha256: sha256('fresh'), remembered: false });
  assert.deepEqual(digest(file, memo), { sha256: sha256('fresh'), remembered: false });
});

test('a file rewritten with bytes of the same size, or replaced, gets its new digest', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'w.pth');
  const memo = join(dir, 'cache');
  writeFileSync(file, 'weights AAA');
  const identity = fileIdentity(file);
  digest(file, memo, later());
  writeFileSync(file, 'weights BBB');
  // Back to the old modification time: the change time, which no user can set, still moves.
  utimesSync(file, 1_000_000, 1_000_000);
  assert.notEqual(fileIdentity(file), identity);
  assert.deepEqual(digest(file, memo, later()), { sha256: sha256('weights BBB'), remembered: false });
  rmSync(file);
  writeFileSync(file, 'weights CCC');
  assert.deepEqual(digest(file, memo, later()), { sha256: sha256('weights CCC'), remembered: false });
});

test('a damaged memo is not believed: the file is read again and the memo rewritten', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'w.pth');
  const memo = join(dir, 'cache');
  writeFileSync(file, 'weights');
  digest(file, memo, later());
  const [name] = readdirSync(join(memo, 'digests'));
  writeFileSync(join(memo, 'digests', name!), 'not a digest');
  assert.deepEqual(digest(file, memo, later()), { sha256: sha256('weights'), remembered: false });
  assert.deepEqual(digest(file, memo, later()), { sha256: sha256('weights'), remembered: true });
});

test('no identity for what is not a file', (t) => {
  const dir = tempDir(t);
  assert.equal(fileIdentity(dir), undefined);
  assert.equal(fileIdentity(join(dir, 'missing')), undefined);
});
