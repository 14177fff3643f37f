/**
 * What GoogLeNet and Inception v3 share in torchvision 0.14: BasicConv2d (conv, batch norm with
 * eps 1e-3, ReLU) and `_transform_input`, which maps inputs normalised with ImageNet's mean and
 * std to the (x - 0.5) / 0.5 normalisation that Google's original weights expect.
 */
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Conv2d, type Conv2dLayerOptions } from '../nn/layers/conv.js';
import { Module } from '../nn/module.js';
import { cat } from '../ops/cat.js';
import { getitem, slice } from '../ops/getitem.js';
import { add } from '../ops/add.js';
import { mul } from '../ops/mul.js';
import { unsqueeze } from '../ops/unsqueeze.js';
import { relu } from '../ops/relu.js';
import type { Tensor } from '../tensor/tensor.js';

export class BasicConv2d extends Module<[Tensor], Tensor> {
  conv: Conv2d;
  bn: BatchNorm2d;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number | [number, number],
    options: Conv2dLayerOptions = {},
  ) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, kernelSize, { ...options, bias: false });
    this.bn = new BatchNorm2d(outChannels, { eps: 0.001 });
  }

  forward(x: Tensor): Tensor {
    x = this.conv.call(x);
    x = this.bn.call(x);
    return relu(x);
  }
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** torchvision's `_transform_input` (applied when `transformInput` is set). */
export function transformInput(x: Tensor): Tensor {
  // Functions, not methods: torch.fx records x[:, c], torch.unsqueeze, * and + as call_function.
  const channels = IMAGENET_MEAN.map((mean, c) =>
    add(mul(unsqueeze(getitem(x, [slice(), c]), 1), IMAGENET_STD[c]! / 0.5), (mean - 0.5) / 0.5),
  );
  return cat(channels, 1);
}
