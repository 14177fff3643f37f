/**
 * `featurefx serve`'s HTTP server (node:http): the page's files and the API of the page's contract.
 * GET and HEAD only; the API for the page's own requests only; every answer carries the security
 * headers; errors are JSON `{ error }`.
 */
import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FileModels } from './file-models.js';
import { type PageFile, builtPageFolder, listPageFiles } from './page-files.js';
import { SECURITY_HEADERS, isAllowedHost, isCrossSite } from './request-guard.js';
import { RequestError } from './request-error.js';
import { ZooExports } from './zoo-exports.js';

export interface ServerOptions {
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (this machine only). */
  host?: string;
  /** ONNX files to offer the page (`GET api/files/<i>/<name>`). */
  files?: readonly string[];
  /** Zoo model name -> weights file; the others have random weights. */
  weights?: ReadonlyMap<string, string>;
  /** The page's folder; default the package's dist/web. */
  pageFolder?: string;
  /** The exported models kept in memory, at most (default 1 GiB). */
  cacheBytes?: number;
}

export interface RunningServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  /** How many models have been exported so far (requests served from the cache do not count). */
  exportCount(): number;
  close(): Promise<void>;
}

const DEFAULT_CACHE_BYTES = 2 ** 30;

type Answer = { type: string; body: Uint8Array | string };

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const page = listPageFiles(options.pageFolder ?? builtPageFolder());
  const files = await FileModels.open(options.files ?? []);
  const zoo = new ZooExports(options.weights ?? new Map(), options.cacheBytes ?? DEFAULT_CACHE_BYTES);
  let port = 0;
  const server = createServer((req, res) => {
    void respond(req, res, () => {
      if (!isAllowedHost(req.headers.host, host, port))
        throw new RequestError(
          403,
          `this server answers requests for ${urlOf(host, port)} or http://localhost:${port}/ only, ` +
            `not for Host '${req.headers.host ?? ''}'; open the page by that address`,
        );
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        throw new RequestError(405, `${req.method ?? '?'} is not allowed: this server only answers GET and HEAD`);
      }
      const url = req.url ?? '/';
      const site = req.headers['sec-fetch-site'];
      if (url.startsWith('/api/') && isCrossSite(site))
        throw new RequestError(
          403,
          `the API answers the page served at ${urlOf(host, port)} only, not a page of another site ` +
            `(Sec-Fetch-Site: ${site}); open that page to explore the models`,
        );
      return route(url, page, files, zoo);
    });
  });
  port = await listen(server, options.port ?? 8080, host);
  return {
    url: urlOf(host, port),
    exportCount: () => zoo.exportCount,
    close: () => close(server),
  };
}

/** The answer for a GET of `url` (path and query exactly as sent). */
async function route(
  url: string,
  page: ReadonlyMap<string, PageFile>,
  files: FileModels,
  zoo: ZooExports,
): Promise<Answer> {
  const [path = '', query = ''] = url.split(/\?(.*)/s);
  const file = page.get(path);
  if (file !== undefined) return { type: file.contentType, body: await readFile(file.path) };
  if (path === '/api/models')
    return { type: 'application/json', body: JSON.stringify({ zoo: zoo.list(), files: files.list() }) };
  const onnx = 'application/octet-stream';
  let match = /^\/api\/zoo\/([^/]+)\.onnx$/.exec(path);
  if (match !== null) return { type: onnx, body: await zoo.model(decodedName(match[1]!)) };
  match = /^\/api\/zoo\/([^/]+)\/gradcam\.onnx$/.exec(path);
  if (match !== null) {
    const name = decodedName(match[1]!);
    const node = new URLSearchParams(query).get('node');
    if (node === null || node === '')
      throw new RequestError(400, `name the node of the Grad-CAM model: api/zoo/${name}/gradcam.onnx?node=layer4`);
    return { type: onnx, body: await zoo.gradCam(name, node) };
  }
  match = /^\/api\/files\/([^/]+)\/([^/]+)$/.exec(path);
  if (match !== null) return { type: onnx, body: await files.bytes(match[1]!, match[2]!) };
  throw new RequestError(404, `nothing is served at ${path}`);
}

/** A model name from the URL, only ever looked up in the registry. */
function decodedName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RequestError(404, `'${segment}' is not a model name (bad URL encoding)`);
  }
}

/** Sends what `answer` gives, or its error as JSON. */
async function respond(req: IncomingMessage, res: ServerResponse, answer: () => Promise<Answer>): Promise<void> {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  let status = 200;
  let result: Answer;
  try {
    result = await answer();
  } catch (e) {
    status = e instanceof RequestError ? e.status : 500;
    const message = e instanceof Error ? e.message : String(e);
    if (status === 500) process.stderr.write(`featurefx: ${req.method ?? '?'} ${req.url ?? '?'} failed: ${message}\n`);
    result = { type: 'application/json', body: JSON.stringify({ error: message }) };
  }
  const body = typeof result.body === 'string' ? Buffer.from(result.body) : result.body;
  res.writeHead(status, { 'Content-Type': result.type, 'Content-Length': body.byteLength });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new Error(`port ${port} is in use; pass --port 0 for a free one or another port`)
          : new Error(`cannot listen on ${host} port ${port}: ${e.message}`, { cause: e }),
      ),
    );
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((e) => (e === undefined ? resolve() : reject(e)));
    // Browsers keep connections alive; close would otherwise wait for them.
    server.closeAllConnections();
  });
}

function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}
