import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { codeIdentity, modulesDigest } from './code-identity.js';

test("the modules' digest changes with any module's content or name, not with other files", (t) => {
  const root = mkdtempSync(join(tmpdir(), 'featurefx-code-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'fx'));
  writeFileSync(join(root, 'index.js'), 'export * from "./fx/compile.js";');
  writeFileSync(join(root, 'fx', 'compile.js'), 'export const level = "all";');
  const digest = modulesDigest(root);
  writeFileSync(join(root, 'fx', 'compile.d.ts'), 'export declare const level: string;');
  writeFileSync(join(root, 'catalogue.json'), '{}');
  assert.equal(modulesDigest(root), digest, 'declarations and data are not code');
  writeFileSync(join(root, 'fx', 'compile.js'), 'export const level = "basic";');
  const edited = modulesDigest(root);
  assert.notEqual(edited, digest);
  renameSync(join(root, 'fx', 'compile.js'), join(root, 'fx', 'compiled.js'));
  assert.notEqual(modulesDigest(root), edited);
});

test("featurefx's own identity is the digest of the folder of its modules (src/ when run from source)", () => {
  const src = fileURLToPath(new URL('..', import.meta.url));
  assert.equal(codeIdentity(), modulesDigest(src));
  assert.notEqual(codeIdentity(), modulesDigest(join(src, 'runtime')), 'the whole folder, not the runtime folder');
});
