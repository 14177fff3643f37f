/**
 * The `@example` sections of the TSDoc comments in a source file, as runnable code: STYLE.md asks
 * that each example on public API runs in a test. An example uses featurefx's exports without
 * importing them (`F.relu(randn([1, 3, 8, 8]))`), so the exports it names are imported on its
 * first line, which keeps its line numbers those of the source file.
 */
import { readFileSync } from 'node:fs';
import type { CodeBlock } from './code-blocks.js';

/** One block per `@example`, ending at the next tag or the end of the comment. */
export function tsdocExamples(file: string, source: string, exportNames: readonly string[]): CodeBlock[] {
  const lines = readFileSync(source, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*@example\s*$/.test(lines[i]!)) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*\*\s*@\w+/.test(lines[j]!) && !/\*\//.test(lines[j]!))
      body.push(lines[j++]!.replace(/^\s*\* ?/, ''));
    i = j - 1;
    const code = body.join('\n');
    if (/\bfrom\s+['"]featurefx['"]/.test(code)) {
      blocks.push({ file, line: i + 1 - body.length, lang: 'ts', flags: [], code: code + '\n' });
      continue;
    }
    const used = exportNames.filter((name) => new RegExp(`(?<![\\w.$])${name}\\b`).test(code));
    const imports = used.length > 0 ? `import { ${used.join(', ')} } from 'featurefx'; ` : '';
    blocks.push({ file, line: i + 1 - body.length, lang: 'ts', flags: [], code: imports + code + '\n' });
  }
  return blocks;
}
