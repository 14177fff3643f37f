import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
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

test("featurefx's own identity is a SHA-256, computed once", () => {
  assert.match(codeIdentity(), /^[0-9a-f]{64}$/);
  assert.equal(codeIdentity(), codeIdentity());
});
