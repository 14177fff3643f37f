/** `featurefx serve`: the page on a local server until Ctrl-C (SIGINT) or SIGTERM. */
import { statSync } from 'node:fs';
import { isLoopback } from '../serve/request-guard.js';
import { startServer } from '../serve/server.js';
import { classifierEntry } from './model-setup.js';

export interface ServeOptions {
  port: number;
  host: string;
  /** `NAME=FILE` entries of `--weights`. */
  weights?: readonly string[];
  pageDir?: string;
}

export async function serve(files: readonly string[], o: ServeOptions): Promise<void> {
  const weights = weightsByModel(o.weights ?? []);
  if (!isLoopback(o.host))
    process.stderr.write(
      `featurefx: warning: --host ${o.host} makes the page and the models reachable from the network, ` +
        'by anyone who can reach this machine; leave --host out to serve this machine only (127.0.0.1)\n',
    );
  const server = await startServer({
    port: o.port,
    host: o.host,
    files,
    weights,
    ...(o.pageDir === undefined ? {} : { pageFolder: o.pageDir }),
  });
  console.log(`featurefx: serving ${server.url} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}

/** `--weights NAME=FILE ...` as model name -> file, each a classifier of the zoo and a readable file. */
function weightsByModel(specs: readonly string[]): Map<string, string> {
  const weights = new Map<string, string>();
  for (const spec of specs) {
    const at = spec.indexOf('=');
    if (at <= 0 || at === spec.length - 1)
      throw new RangeError(`--weights takes NAME=FILE, e.g. resnet18=resnet18-f37072fd.pth, got '${spec}'`);
    const [name, file] = [spec.slice(0, at), spec.slice(at + 1)];
    classifierEntry(name);
    if (weights.has(name)) throw new RangeError(`--weights gives ${name} two files; give it one`);
    let isFile = false;
    try {
      isFile = statSync(file).isFile();
    } catch {
      // A missing file is refused below, as a folder is.
    }
    if (!isFile) throw new RangeError(`--weights ${spec}: '${file}' is not a file; give a .pth or .safetensors file`);
    weights.set(name, file);
  }
  return weights;
}
