import { ReLU } from '../layers/activation.js';
import { Sequential } from '../layers/containers.js';
import { Dropout } from '../layers/dropout.js';
import { Linear } from '../layers/linear.js';
import type { Module } from '../module.js';
import type { Tensor } from '../../tensor/tensor.js';

export interface MLPOptions {
  normLayer?: ((features: number) => Module) | null;
  activationLayer?: (() => Module) | null;
  bias?: boolean;
  dropout?: number;
}

/** torchvision's MLP: [Linear, norm?, activation, Dropout] per hidden layer, then Linear, Dropout. */
export class MLP extends Sequential<Tensor> {
  constructor(inChannels: number, hiddenChannels: readonly number[], options: MLPOptions = {}) {
    const layers: Module[] = [];
    let inDim = inChannels;
    const activation = options.activationLayer === undefined ? () => new ReLU() : options.activationLayer;
    hiddenChannels.slice(0, -1).forEach((hidden) => {
      layers.push(new Linear(inDim, hidden, { bias: options.bias ?? true }));
      if (options.normLayer) layers.push(options.normLayer(hidden));
      if (activation !== null) layers.push(activation());
      layers.push(new Dropout(options.dropout ?? 0));
      inDim = hidden;
    });
    layers.push(new Linear(inDim, hiddenChannels[hiddenChannels.length - 1]!, { bias: options.bias ?? true }));
    layers.push(new Dropout(options.dropout ?? 0));
    super(...layers);
  }
}
