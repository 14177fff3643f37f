/** MobileNetV2, as torchvision 0.14's mobilenetv2.py. */
import { ReLU6 } from '../nn/layers/activation.js';
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Sequential } from '../nn/layers/containers.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { Module } from '../nn/module.js';
import { Conv2dNormActivation } from '../nn/vision-ops/conv2d-norm-activation.js';
import { adaptiveAvgPool2d } from '../ops/adaptive-avg-pool2d.js';
import { flatten } from '../ops/flatten.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeDivisible } from './make-divisible.js';
import { initWeights, kaimingNormal, normalStd } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';
import { add } from '../ops/add.js';

const relu6 = (): ReLU6 => new ReLU6();
const bn = (c: number): BatchNorm2d => new BatchNorm2d(c);

export class InvertedResidual extends Module<[Tensor], Tensor> {
  conv: Sequential<Tensor>;
  readonly useResConnect: boolean;

  constructor(inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    if (stride !== 1 && stride !== 2) throw new RangeError(`stride should be 1 or 2 insted of ${stride}`);
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: Module[] = [];
    if (expandRatio !== 1)
      layers.push(new Conv2dNormActivation(inp, hidden, 1, { normLayer: bn, activationLayer: relu6 }));
    layers.push(
      new Conv2dNormActivation(hidden, hidden, 3, { stride, groups: hidden, normLayer: bn, activationLayer: relu6 }),
      new Conv2d(hidden, oup, 1, { stride: 1, padding: 0, bias: false }),
      new BatchNorm2d(oup),
    );
    this.conv = new Sequential<Tensor>(...layers);
  }

  forward(x: Tensor): Tensor {
    return this.useResConnect ? add(x, this.conv.call(x)) : this.conv.call(x);
  }
}

export interface MobileNetV2Options extends ModelOptions {
  widthMult?: number;
  roundNearest?: number;
  dropout?: number;
}

export class MobileNetV2 extends Module<[Tensor], Tensor> {
  features: Sequential<Tensor>;
  classifier: Sequential<Tensor>;

  constructor(options: MobileNetV2Options = {}) {
    super();
    const width = options.widthMult ?? 1;
    const round = options.roundNearest ?? 8;
    const setting = [
      [1, 16, 1, 1],
      [6, 24, 2, 2],
      [6, 32, 3, 2],
      [6, 64, 4, 2],
      [6, 96, 3, 1],
      [6, 160, 3, 2],
      [6, 320, 1, 1],
    ] as const;
    let inputChannel = makeDivisible(32 * width, round);
    const lastChannel = makeDivisible(1280 * Math.max(1, width), round);
    const features: Module[] = [
      new Conv2dNormActivation(3, inputChannel, 3, { stride: 2, normLayer: bn, activationLayer: relu6 }),
    ];
    for (const [t, c, n, s] of setting) {
      const outputChannel = makeDivisible(c * width, round);
      for (let i = 0; i < n; i++) {
        features.push(new InvertedResidual(inputChannel, outputChannel, i === 0 ? s : 1, t));
        inputChannel = outputChannel;
      }
    }
    features.push(new Conv2dNormActivation(inputChannel, lastChannel, 1, { normLayer: bn, activationLayer: relu6 }));
    this.features = new Sequential<Tensor>(...features);
    this.classifier = new Sequential<Tensor>(
      new Dropout(options.dropout ?? 0.2),
      new Linear(lastChannel, options.numClasses ?? 1000),
    );
    initWeights(this, {
      conv: kaimingNormal('fanOut'),
      linear: normalStd(0.01),
      zeroConvBias: true,
      zeroLinearBias: true,
    });
  }

  forward(x: Tensor): Tensor {
    x = this.features.call(x);
    x = adaptiveAvgPool2d(x, [1, 1]);
    x = flatten(x, 1);
    return this.classifier.call(x);
  }
}

registerModel({
  name: 'mobilenet_v2',
  build: (o: MobileNetV2Options = {}) => new MobileNetV2(o),
  options: ['widthMult', 'roundNearest', 'dropout'],
  transform: { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' },
});
