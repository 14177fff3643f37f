/**
 * What every response carries and every request must pass: security headers, the Host check that
 * defends against DNS rebinding (a web site whose name is made to resolve to 127.0.0.1 would
 * otherwise read the server's answers from the user's browser), and the API's refusal of other
 * sites' requests.
 */
import { isIP } from 'node:net';

/**
 * Cross-origin isolation (COOP + COEP) lets onnxruntime-web run WebAssembly threads
 * (`crossOriginIsolated`); the policy allows only the page's own files, WebAssembly compilation,
 * and the blob: workers and images the page makes.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': [
    "default-src 'self'",
    // protobufjs (the ONNX reader) compiles its decoders and encoders with Function() at run time.
    "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    "img-src 'self' blob: data:",
    "connect-src 'self' blob: data:",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
};

/**
 * Whether a browser says that a page of another site sent the request (`Sec-Fetch-Site`). Any web
 * page can send GETs to 127.0.0.1 (an <img>, a no-cors fetch): it cannot read the answers, but it
 * could make the server export model after model. The API is for the page served here
 * (same-origin); clients that send no such header (curl, scripts) are not browsers' pages.
 */
export function isCrossSite(secFetchSite: string | undefined): boolean {
  return secFetchSite === 'cross-site' || secFetchSite === 'same-site';
}

/** Whether `host` (as `--host` takes it) is this machine only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Whether a request's Host header names this server: `localhost` or the bound host, with the port;
 * with a wildcard bind (0.0.0.0, ::) any IP address, which no DNS answer can stand for.
 */
export function isAllowedHost(header: string | undefined, boundHost: string, port: number): boolean {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(header ?? '');
  if (match === null) return false;
  if (Number(match[2] ?? '80') !== port) return false;
  const name = match[1]!.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost' || name === boundHost.toLowerCase()) return true;
  return (boundHost === '0.0.0.0' || boundHost === '::') && isIP(name) !== 0;
}
