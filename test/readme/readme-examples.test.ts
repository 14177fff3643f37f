/**
 * Every TypeScript example in README.md and docs/*.md, and every TSDoc `@example` in src/, runs,
 * read from its file at test time: each is written to a file in a temporary project where
 * `featurefx` is this repository (built into dist/ by `npm test`), type-checked with the
 * project's strict settings and compiled by one tsc run, and run with node. A JavaScript block
 * runs too when it imports featurefx; a block that cannot run here (browser code) says so in its
 * fence, as ```js no-run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type CodeBlock, codeBlocks } from './code-blocks.js';
import { REPO, makeDocInputs } from './doc-inputs.js';
import { tsdocExamples } from './tsdoc-examples.js';

const DOCS = ['README.md', ...readdirSync(join(REPO, 'docs')).flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : []))];
const blocks = DOCS.flatMap((doc) => codeBlocks(join(REPO, doc)).map((b) => ({ ...b, file: doc })));
const isCode = (b: CodeBlock): boolean => ['ts', 'typescript', 'js', 'javascript'].includes(b.lang);
const isExample = (b: CodeBlock): boolean =>
  isCode(b) && !b.flags.includes('no-run') && (b.lang.startsWith('t') || /\bfrom\s+['"]featurefx['"]/.test(b.code));
const exportNames = Object.keys(await import('../../src/index.js'));
const sources = readdirSync(join(REPO, 'src'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .sort()
  .map((f) => `src/${f}`);
const examples = [...blocks.filter(isExample), ...sources.flatMap((f) => tsdocExamples(f, join(REPO, f), exportNames))];

/** The folder an example runs in, and its file: `README.md` line 27 -> `README.md-L27/example.ts`. */
const folderOf = (b: CodeBlock): string => `${b.file.replaceAll('/', '_')}-L${b.line}`;

let project = '';
/** tsc's report on all examples: they are compiled once, which costs less than tsx per example. */
let typecheck: { status: number | null; stdout: string } = { status: null, stdout: '' };

before(() => {
  // A user's project: ESM, with featurefx installed (a link to this repository, whose
  // package.json points at dist/) and typed as strictly as featurefx itself.
  project = mkdtempSync(join(tmpdir(), 'featurefx-readme-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  mkdirSync(join(project, 'node_modules'));
  symlinkSync(REPO, join(project, 'node_modules', 'featurefx'), 'dir');
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    sourceMap: true,
    skipLibCheck: true,
    typeRoots: [join(REPO, 'node_modules', '@types')],
  };
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*/example.ts'] }));
  for (const b of examples) {
    mkdirSync(join(project, folderOf(b)));
    writeFileSync(join(project, folderOf(b), 'example.ts'), b.code);
  }
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  typecheck = spawnSync(process.execPath, [tsc, '-p', project, '--pretty', 'false'], { encoding: 'utf8' });
});

// The stand-in checkpoints are 100 MB each.
after(() => rmSync(project, { recursive: true, force: true }));

test('the docs have TypeScript examples, and every code block either runs or is marked no-run', () => {
  assert.ok(
    blocks.filter(isExample).length >= 4,
    `found ${blocks.filter(isExample).length} examples in ${DOCS.join(', ')}`,
  );
  const unmarked = blocks.filter((b) => isCode(b) && !isExample(b) && !b.flags.includes('no-run'));
  assert.deepEqual(
    unmarked.map((b) => `${b.file}:${b.line}`),
    [],
    'these blocks neither import featurefx nor say they cannot run here: mark them ```js no-run, or make them run',
  );
});

for (const b of examples) {
  test(`${b.file}:${b.line} runs`, async () => {
    const cwd = join(project, folderOf(b));
    await makeDocInputs(b.code, cwd);
    // tsc writes example.js even when a type is wrong; a type error fails the type-check test.
    const r = spawnSync(process.execPath, ['--enable-source-maps', 'example.js'], { cwd, encoding: 'utf8' });
    assert.equal(r.status, 0, `${b.file}:${b.line}: the example exited with ${r.status}:\n${r.stderr}`);
  });
}

test('the examples type-check with strict settings', () => {
  // tsc names `<folder>/example.ts(line,col)`; say which line of which Markdown file that is.
  const where = new Map(examples.map((b) => [folderOf(b), b]));
  const report = typecheck.stdout.replace(
    /\S*?([^/\s]+)\/example\.ts\((\d+),(\d+)\)/g,
    (m, folder: string, line: string) => {
      const b = where.get(folder);
      return b === undefined ? m : `${b.file}:${b.line + Number(line)}`;
    },
  );
  assert.equal(typecheck.status, 0, report);
});
