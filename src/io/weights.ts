import { WeightsError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { readRange, withByteSource } from './byte-source.js';
import { readPth } from './pth.js';
import { readSafetensors } from './safetensors.js';

/**
 * Reads a state dict from a `.pth`/`.pt` (torch.save) or `.safetensors` file, chosen by content.
 * The file is read in pieces, as needed, so checkpoints over 2 GiB load too.
 * @example
 * const model = resnet50();
 * model.loadStateDict(loadWeights('resnet50-11ad3fa6.pth'));
 */
export function loadWeights(path: string): Map<string, Tensor> {
  return withByteSource(path, (file) => {
    const start = readRange(file, 0, Math.min(file.size, 9), 'the file signature');
    if (start[0] === 0x50 && start[1] === 0x4b) return readPth(file);
    if (start.length === 9 && start[8] === 0x7b) return readSafetensors(file);
    throw new WeightsError(`'${path}' is neither a torch.save (.pth) nor a .safetensors file`);
  });
}
