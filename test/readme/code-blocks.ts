/**
 * The fenced code blocks of a Markdown file, read from the file at test time so that a test of
 * an example always runs the example as the reader sees it.
 */
import { readFileSync } from 'node:fs';

export interface CodeBlock {
  /** The file the block is in, as the caller names it. */
  file: string;
  /** 1-based line of the opening fence (of a TSDoc `@example` tag): the code's line n is the file's line + n. */
  line: number;
  /** The fence's language (`ts`, `sh`, ...), lower-cased; '' when none is given. */
  lang: string;
  /** Words after the language in the fence info (`no-run`). */
  flags: string[];
  code: string;
}

/** Blocks fenced with ``` or ~~~ at the start of a line (indented fences are not used in our docs). */
export function codeBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const fence = open[1]!;
    const [lang = '', ...flags] = open[2]!.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    // A closing fence is the same character, at least as long, and nothing after it.
    while (j < lines.length && !new RegExp(`^${fence[0]}{${fence.length},}\\s*$`).test(lines[j]!))
      body.push(lines[j++]!);
    blocks.push({ file, line: i + 1, lang: lang.toLowerCase(), flags, code: body.join('\n') + '\n' });
    i = j;
  }
  return blocks;
}
