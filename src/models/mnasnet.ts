/** MNASNet 0.5, 0.75, 1.0 and 1.3, as torchvision 0.14's mnasnet.py. */
import { ReLU } from '../nn/layers/activation.js';
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Sequential } from '../nn/layers/containers.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { fanOut } from '../nn/init.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import { initWeights, kaimingNormal, uniformBound } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';
import { add } from '../ops/add.js';

// The TensorFlow reference's batch-norm decay 0.9997, as a PyTorch momentum.
const BN_MOMENTUM = 1 - 0.9997;

const bn = (c: number): BatchNorm2d => new BatchNorm2d(c, { momentum: BN_MOMENTUM });

class MnasInvertedResidual extends Module<[Tensor], Tensor> {
  layers: Sequential<Tensor>;
  readonly applyResidual: boolean;

  constructor(inCh: number, outCh: number, kernelSize: number, stride: number, expansion: number) {
    super();
    if (stride !== 1 && stride !== 2) throw new RangeError(`stride should be 1 or 2 instead of ${stride}`);
    if (kernelSize !== 3 && kernelSize !== 5)
      throw new RangeError(`kernel_size should be 3 or 5 instead of ${kernelSize}`);
    const mid = inCh * expansion;
    this.applyResidual = inCh === outCh && stride === 1;
    this.layers = new Sequential<Tensor>(
      // Pointwise
      new Conv2d(inCh, mid, 1, { bias: false }),
      bn(mid),
      new ReLU({ inplace: true }),
      // Depthwise
      new Conv2d(mid, mid, kernelSize, { padding: Math.floor(kernelSize / 2), stride, groups: mid, bias: false }),
      bn(mid),
      new ReLU({ inplace: true }),
      // Linear pointwise: no activation.
      new Conv2d(mid, outCh, 1, { bias: false }),
      bn(outCh),
    );
  }

  forward(input: Tensor): Tensor {
    return this.applyResidual ? add(this.layers.call(input), input) : this.layers.call(input);
  }
}

function stack(inCh: number, outCh: number, kernel: number, stride: number, expansion: number, repeats: number) {
  const blocks = [new MnasInvertedResidual(inCh, outCh, kernel, stride, expansion)];
  for (let i = 1; i < repeats; i++) blocks.push(new MnasInvertedResidual(outCh, outCh, kernel, 1, expansion));
  return new Sequential<Tensor>(...blocks);
}

/** torchvision's `_round_to_multiple_of`: rounds up when rounding would lose more than 10%. */
function roundToMultipleOf(value: number, divisor: number): number {
  const rounded = Math.max(divisor, Math.floor(Math.trunc(value + divisor / 2) / divisor) * divisor);
  return rounded >= 0.9 * value ? rounded : rounded + divisor;
}

export interface MNASNetOptions extends ModelOptions {
  dropout?: number;
}

export class MNASNet extends Module<[Tensor], Tensor> {
  layers: Sequential<Tensor>;
  classifier: Sequential<Tensor>;

  constructor(
    readonly alpha: number,
    options: MNASNetOptions = {},
  ) {
    super();
    if (!(alpha > 0)) throw new RangeError(`alpha should be greater than 0.0 instead of ${alpha}`);
    const d = [32, 16, 24, 40, 80, 96, 192, 320].map((depth) => roundToMultipleOf(depth * alpha, 8)) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    this.layers = new Sequential<Tensor>(
      // First layer: regular conv.
      new Conv2d(3, d[0], 3, { padding: 1, stride: 2, bias: false }),
      bn(d[0]),
      new ReLU({ inplace: true }),
      // Depthwise separable, no skip.
      new Conv2d(d[0], d[0], 3, { padding: 1, stride: 1, groups: d[0], bias: false }),
      bn(d[0]),
      new ReLU({ inplace: true }),
      new Conv2d(d[0], d[1], 1, { padding: 0, stride: 1, bias: false }),
      bn(d[1]),
      // MNASNet blocks: stacks of inverted residuals.
      stack(d[1], d[2], 3, 2, 3, 3),
      stack(d[2], d[3], 5, 2, 3, 3),
      stack(d[3], d[4], 5, 2, 6, 3),
      stack(d[4], d[5], 3, 1, 6, 2),
      stack(d[5], d[6], 5, 2, 6, 4),
      stack(d[6], d[7], 3, 1, 6, 1),
      // Final mapping to classifier input.
      new Conv2d(d[7], 1280, 1, { padding: 0, stride: 1, bias: false }),
      bn(1280),
      new ReLU({ inplace: true }),
    );
    this.classifier = new Sequential<Tensor>(
      new Dropout(options.dropout ?? 0.2, { inplace: true }),
      new Linear(1280, options.numClasses ?? 1000),
    );
    // Linear: kaiming_uniform_(mode='fan_out', nonlinearity='sigmoid'), whose gain is 1.
    initWeights(this, {
      conv: kaimingNormal('fanOut'),
      linear: uniformBound((shape) => Math.sqrt(3 / fanOut(shape))),
      zeroConvBias: true,
      zeroLinearBias: true,
    });
  }

  forward(x: Tensor): Tensor {
    x = this.layers.call(x);
    // Global average pooling that also drops H and W.
    x = x.mean([2, 3]);
    return this.classifier.call(x);
  }
}

const MNASNET_TRANSFORM = { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' } as const;
for (const [name, alpha, resizeSize] of [
  ['mnasnet0_5', 0.5, 256],
  ['mnasnet0_75', 0.75, 232],
  ['mnasnet1_0', 1.0, 256],
  ['mnasnet1_3', 1.3, 232],
] as const) {
  registerModel({
    name,
    build: (o: MNASNetOptions = {}) => new MNASNet(alpha, o),
    options: ['dropout'],
    transform: { ...MNASNET_TRANSFORM, resizeSize },
  });
}
