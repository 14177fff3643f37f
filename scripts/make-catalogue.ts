/**
 * Writes dist/catalogue.json, the node catalogue of every zoo model (see src/cli/catalogue.ts).
 * Run by `npm run build` after tsc. Reports the time taken and the file's size.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { catalogueEntry, type Catalogue } from '../src/cli/catalogue.js';
import { listModels } from '../src/models/index.js';

const started = performance.now();
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const catalogue: Catalogue = {
  featurefx: version,
  models: Object.fromEntries(listModels({ task: 'classification' }).map((name) => [name, catalogueEntry(name)])),
};
// Next to the compiled code that reads it (readCatalogue in dist/cli/catalogue.js).
const path = fileURLToPath(new URL('../dist/catalogue.json', import.meta.url));
const text = JSON.stringify(catalogue);
writeFileSync(path, text);
const seconds = ((performance.now() - started) / 1000).toFixed(1);
// On stderr: `npm pack --json` runs the build and prints its JSON on stdout.
console.error(
  `catalogue: ${listModels({ task: 'classification' }).length} models, ${(text.length / 1e6).toFixed(1)} MB, ${seconds} s -> ${path}`,
);
