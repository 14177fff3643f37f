import { linear } from '../../ops/linear.js';
import type { Tensor } from '../../tensor/tensor.js';
import { defaultBias, defaultWeight } from '../init.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';

/** y = x W^T + b, as `nn.Linear(inFeatures, outFeatures, bias)`. */
export class Linear extends Module<[Tensor], Tensor> {
  weight: Tensor;
  bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { bias?: boolean } = {},
  ) {
    super();
    this.weight = defaultWeight([outFeatures, inFeatures]);
    this.bias = options.bias === false ? null : defaultBias(outFeatures, [outFeatures, inFeatures]);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
registerBuiltinLayer(Linear);

/** Returns its input, as `nn.Identity`. */
export class Identity extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    return x;
  }
}
registerBuiltinLayer(Identity);
