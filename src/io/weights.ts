import { readFileSync } from 'node:fs';
import { WeightsError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadPth } from './pth.js';
import { loadSafetensors } from './safetensors.js';

/**
 * Reads a state dict from a `.pth`/`.pt` (torch.save) or `.safetensors` file, chosen by content.
 * @example
 * const model = resnet50();
 * model.loadStateDict(loadWeights('resnet50-11ad3fa6.pth'));
 */
export function loadWeights(path: string): Map<string, Tensor> {
  let file: Uint8Array;
  try {
    file = new Uint8Array(readFileSync(path));
  } catch (cause) {
    throw new WeightsError(`cannot read weights file '${path}': ${(cause as Error).message}`, { cause });
  }
  if (file[0] === 0x50 && file[1] === 0x4b) return loadPth(file);
  if (file.length >= 9 && file[8] === 0x7b) return loadSafetensors(file);
  throw new WeightsError(`'${path}' is neither a torch.save (.pth) nor a .safetensors file`);
}
