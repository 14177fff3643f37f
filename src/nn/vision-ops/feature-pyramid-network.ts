/**
 * torchvision's FeaturePyramidNetwork (0.14), with the same structure and state-dict keys
 * (inner_blocks.{i}.0, layer_blocks.{i}.0), and its LastLevelMaxPool extra block.
 */
import { interpolate } from '../../ops/interpolate.js';
import { maxPool2d } from '../../ops/max-pool2d.js';
import { zeros } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';
import { uniform, fanIn } from '../init.js';
import { Conv2d } from '../layers/conv.js';
import { ModuleList } from '../layers/containers.js';
import { Module } from '../module.js';
import { Conv2dNormActivation } from './conv2d-norm-activation.js';
import { add } from '../../ops/add.js';
import { renameKey } from '../state-dict.js';

/** An extra block: takes the FPN results, the inputs and the names, returns more results and names. */
export abstract class ExtraFPNBlock extends Module<[Tensor[], Tensor[], string[]], [Tensor[], string[]]> {}

/** Adds a 'pool' level: max pooling of the last result with kernel 1, stride 2. */
export class LastLevelMaxPool extends ExtraFPNBlock {
  forward(results: Tensor[], _inputs: Tensor[], names: string[]): [Tensor[], string[]] {
    return [
      [...results, maxPool2d(results[results.length - 1]!, { kernelSize: 1, stride: 2, padding: 0 })],
      [...names, 'pool'],
    ];
  }
}

export class FeaturePyramidNetwork extends Module<[Record<string, Tensor>], Record<string, Tensor>> {
  inner_blocks = new ModuleList<Conv2dNormActivation>();
  layer_blocks = new ModuleList<Conv2dNormActivation>();
  extra_blocks: ExtraFPNBlock | null;

  constructor(
    inChannelsList: readonly number[],
    outChannels: number,
    options: { extraBlocks?: ExtraFPNBlock | null; normLayer?: ((c: number) => Module) | null } = {},
  ) {
    super();
    for (const inChannels of inChannelsList) {
      if (inChannels === 0) throw new RangeError('[FeaturePyramidNetwork] in_channels=0 is currently not supported');
      const norm = { normLayer: options.normLayer ?? null, activationLayer: null };
      this.inner_blocks.push(new Conv2dNormActivation(inChannels, outChannels, 1, { padding: 0, ...norm }));
      this.layer_blocks.push(new Conv2dNormActivation(outChannels, outChannels, 3, norm));
    }
    // torchvision re-initialises the convolutions: kaiming_uniform(a=1), zero bias.
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        m.weight = uniform(m.weight.shape, Math.sqrt(3 / fanIn(m.weight.shape)));
        if (m.bias !== null) m.bias = zeros(m.bias.shape);
      }
    }
    this.extra_blocks = options.extraBlocks ?? null;
  }

  /** torchvision's FPN before 0.13 (version 1) saved `inner_blocks.{i}.weight`, without the `.0`. */
  override upgradeStateDict(stateDict: Map<string, Tensor>, prefix: string): void {
    for (const block of ['inner_blocks', 'layer_blocks']) {
      for (let i = 0; i < this.inner_blocks.length; i++) {
        for (const type of ['weight', 'bias'])
          renameKey(stateDict, `${prefix}${block}.${i}.${type}`, `${prefix}${block}.${i}.0.${type}`);
      }
    }
  }

  forward(x: Record<string, Tensor>): Record<string, Tensor> {
    let names = Object.keys(x);
    const inputs = Object.values(x);
    const last = inputs.length - 1;
    let lastInner = this.inner_blocks.at(last).call(inputs[last]!);
    let results = [this.layer_blocks.at(last).call(lastInner)];
    for (let idx = last - 1; idx >= 0; idx--) {
      const innerLateral = this.inner_blocks.at(idx).call(inputs[idx]!);
      // Traced, the sizes are graph values (torchvision's inner_lateral.shape[-2:]): one compiled
      // session serves every input size.
      const [h, w] = innerLateral.shape.slice(-2) as [number, number];
      const innerTopDown = interpolate(lastInner, { size: [h, w], mode: 'nearest' });
      lastInner = add(innerLateral, innerTopDown);
      results.unshift(this.layer_blocks.at(idx).call(lastInner));
    }
    if (this.extra_blocks !== null) [results, names] = this.extra_blocks.call(results, inputs, names);
    const out: Record<string, Tensor> = {};
    names.forEach((name, i) =>
      Object.defineProperty(out, name, { value: results[i], enumerable: true, writable: true }),
    );
    return out;
  }
}
