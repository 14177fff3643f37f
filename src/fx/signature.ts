/**
 * Parameter names of a `forward` method, read from its source text as torch.fx reads Python's
 * signature: placeholders are named after them. Only the parameter list is read, never run.
 */
import { TraceError } from '../errors.js';

/** Splits `text` at commas that are not nested in brackets or strings. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== undefined) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch)) depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** The text between the first `(` of `source` and its matching `)`. */
function parameterList(source: string): string {
  const open = source.indexOf('(');
  let depth = 0;
  for (let i = open; i < source.length && open >= 0; i++) {
    if (source[i] === '(') depth++;
    else if (source[i] === ')' && --depth === 0) return source.slice(open + 1, i);
  }
  // An arrow function with one bare parameter: `x => ...`.
  const arrow = /^\s*(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(source);
  if (arrow !== null) return arrow[1]!;
  throw new TraceError(`cannot read the parameters of forward: ${source.slice(0, 80)}`);
}

/**
 * Names of `fn`'s parameters in order. Destructured parameters get `arg{i}`; a rest parameter
 * cannot be traced (its length is unknown) and is an error.
 */
export function parameterNames(fn: (...args: never[]) => unknown): string[] {
  const source = Function.prototype.toString.call(fn).replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
  return splitTopLevel(parameterList(source)).map((param, i) => {
    if (param.startsWith('...')) {
      throw new TraceError(
        `forward takes a rest parameter (${param}), which cannot be traced: name each input, or pass concreteArgs`,
      );
    }
    const name = /^([A-Za-z_$][\w$]*)/.exec(param);
    return name !== null ? name[1]! : `arg${i}`;
  });
}
