/**
 * Files the docs' examples read that a clone does not hold, made in a test's temporary folder:
 * torchvision's checkpoints (`resnet50-11ad3fa6.pth`: stood in for by a torch.save-format file of
 * the same keys and shapes, with featurefx's own random initialisation), a `photos/` folder of
 * small images, and the bundled sample image at the path a clone has it.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { getModel } from '../../src/models/index.js';
import { torchSaveStateDict } from '../helpers/torch-archive.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** torchvision names a checkpoint `<model>-<first 8 hex digits of its SHA-256>.pth`. */
const CHECKPOINT = /\b([a-z0-9_]+)-[0-9a-f]{8}\.pth\b/g;

const checkpoints = new Map<string, Uint8Array>();

const MAKERS: Record<string, (path: string) => Promise<void>> = {
  'photos/': async (path) => {
    mkdirSync(path);
    for (let i = 0; i < 3; i++) {
      const background = { r: 60 * i, g: 120, b: 200 - 50 * i };
      await sharp({ create: { width: 48 + 8 * i, height: 40, channels: 3, background } })
        .jpeg()
        .toFile(join(path, `photo-${i}.jpg`));
    }
  },
  // A small RegNet exported by torch.onnx (scripts/fixtures/make_onnx_exports.py), for the ONNX examples.
  'regnet.onnx': async (path) => copyFileSync(join(REPO, 'test', 'fixtures', 'onnx', 'regnet.onnx'), path),
  'assets/sample.png': async (path) => {
    mkdirSync(dirname(path), { recursive: true });
    copyFileSync(join(REPO, 'assets', 'sample.png'), path);
  },
};

/** Makes in `dir` each input that `text` (an example's code) names and `dir` does not have yet. */
export async function makeDocInputs(text: string, dir: string): Promise<void> {
  for (const [name, make] of Object.entries(MAKERS)) {
    const path = join(dir, name);
    if (text.includes(name) && !existsSync(path)) await make(path);
  }
  for (const [file, model] of text.matchAll(CHECKPOINT)) {
    if (existsSync(join(dir, file)) || model === undefined) continue;
    if (!checkpoints.has(model)) checkpoints.set(model, torchSaveStateDict(getModel(model).stateDict()));
    writeFileSync(join(dir, file), checkpoints.get(model)!);
  }
}
