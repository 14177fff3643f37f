/** A stand-in page folder and raw HTTP requests (paths sent exactly as written) for the serve tests. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** index.html, app.js, a .wasm and an .mjs under ort/, as the built page has. */
export function standInPage(): string {
  const folder = mkdtempSync(join(tmpdir(), 'featurefx-page-'));
  mkdirSync(join(folder, 'ort'));
  writeFileSync(join(folder, 'index.html'), '<!doctype html><script type="module" src="app.js"></script>');
  writeFileSync(join(folder, 'app.js'), 'document.body.append("stand-in page");\n');
  writeFileSync(join(folder, 'ort', 'runtime.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  writeFileSync(join(folder, 'ort', 'runtime.mjs'), 'export const ok = true;\n');
  return folder;
}

/** Sends `path` as it is (no normalising, unlike fetch), with `host` as the Host header and `headers`. */
export function send(
  url: string,
  path: string,
  options: { method?: string; host?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const { hostname, port, host } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        path,
        method: options.method ?? 'GET',
        headers: { ...options.headers, host: options.host ?? host },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The `error` of a JSON error reply. */
export function errorOf(reply: Reply): string {
  assert.equal(reply.headers['content-type'], 'application/json');
  return (JSON.parse(reply.body.toString()) as { error: string }).error;
}
