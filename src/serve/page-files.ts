/**
 * The page's files: `dist/web` of the featurefx package (made by `npm run build`), listed once when
 * the server starts. Only listed files are served, looked up by the request's path exactly as sent
 * (no decoding, no normalising), so `..`, `%2e%2e`, encoded slashes and absolute paths find nothing.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PageFile {
  path: string;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The folder holding featurefx's package.json, found from this module's own location, so that it is
 * the same from src/ (under tsx) and from dist/ (the installed package).
 */
function packageRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`featurefx: no package.json above ${fileURLToPath(import.meta.url)}`);
    folder = parent;
  }
  return folder;
}

/** Where `npm run build` writes the page. */
export function builtPageFolder(): string {
  return join(packageRoot(), 'dist', 'web');
}

/** The files under `folder` by URL path (`/app.js`, `/ort/x.wasm`; `/` is index.html). */
export function listPageFiles(folder: string): Map<string, PageFile> {
  if (!existsSync(join(folder, 'index.html')))
    throw new Error(`the page is not built; run \`npm run build\` (${join(folder, 'index.html')} does not exist)`);
  const files = new Map<string, PageFile>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const urlPath = `/${relative(folder, path).split(sep).map(encodeURIComponent).join('/')}`;
        const contentType = CONTENT_TYPES[extname(entry.name).toLowerCase()] ?? 'application/octet-stream';
        files.set(urlPath, { path, contentType });
      }
    }
  };
  walk(folder);
  files.set('/', files.get('/index.html')!);
  return files;
}
