/** DenseNet 121/161/169/201, as torchvision 0.14's densenet.py (memory_efficient=false). */
import { ReLU } from '../nn/layers/activation.js';
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Sequential } from '../nn/layers/containers.js';
import { Linear } from '../nn/layers/linear.js';
import { AvgPool2d, MaxPool2d } from '../nn/layers/pooling.js';
import { Module, setOwnField } from '../nn/module.js';
import { adaptiveAvgPool2d } from '../ops/adaptive-avg-pool2d.js';
import { cat } from '../ops/cat.js';
import { dropout } from '../ops/dropout.js';
import { flatten } from '../ops/flatten.js';
import { relu } from '../ops/relu.js';
import { Tensor } from '../tensor/tensor.js';
import { initWeights, kaimingNormal } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';

export class DenseLayer extends Module<[Tensor | Tensor[]], Tensor> {
  norm1: BatchNorm2d;
  relu1 = new ReLU({ inplace: true });
  conv1: Conv2d;
  norm2: BatchNorm2d;
  relu2 = new ReLU({ inplace: true });
  conv2: Conv2d;

  constructor(
    inputFeatures: number,
    growthRate: number,
    bnSize: number,
    readonly dropRate: number,
  ) {
    super();
    this.norm1 = new BatchNorm2d(inputFeatures);
    this.conv1 = new Conv2d(inputFeatures, bnSize * growthRate, 1, { stride: 1, bias: false });
    this.norm2 = new BatchNorm2d(bnSize * growthRate);
    this.conv2 = new Conv2d(bnSize * growthRate, growthRate, 3, { stride: 1, padding: 1, bias: false });
  }

  private bnFunction(inputs: Tensor[]): Tensor {
    const concatenated = cat(inputs, 1);
    return this.conv1.call(this.relu1.call(this.norm1.call(concatenated)));
  }

  forward(input: Tensor | Tensor[]): Tensor {
    const previous = input instanceof Tensor ? [input] : input;
    const bottleneck = this.bnFunction(previous);
    let newFeatures = this.conv2.call(this.relu2.call(this.norm2.call(bottleneck)));
    if (this.dropRate > 0) newFeatures = dropout(newFeatures, { p: this.dropRate, training: this.training });
    return newFeatures;
  }
}

/** torchvision's _DenseBlock (a ModuleDict with a forward): children denselayer1, denselayer2, ... */
export class DenseBlock extends Module<[Tensor], Tensor> {
  constructor(numLayers: number, inputFeatures: number, bnSize: number, growthRate: number, dropRate: number) {
    super();
    for (let i = 0; i < numLayers; i++) {
      setOwnField(
        this,
        `denselayer${i + 1}`,
        new DenseLayer(inputFeatures + i * growthRate, growthRate, bnSize, dropRate),
      );
    }
  }

  forward(initFeatures: Tensor): Tensor {
    const features = [initFeatures];
    for (const [, layer] of this.namedChildren()) features.push((layer as DenseLayer).call(features));
    return cat(features, 1);
  }
}

export class Transition extends Sequential<Tensor> {
  constructor(inputFeatures: number, outputFeatures: number) {
    super({
      norm: new BatchNorm2d(inputFeatures),
      relu: new ReLU({ inplace: true }),
      conv: new Conv2d(inputFeatures, outputFeatures, 1, { stride: 1, bias: false }),
      pool: new AvgPool2d(2, { stride: 2 }),
    });
  }
}

export interface DenseNetOptions extends ModelOptions {
  growthRate?: number;
  blockConfig?: readonly number[];
  numInitFeatures?: number;
  bnSize?: number;
  dropRate?: number;
}

export class DenseNet extends Module<[Tensor], Tensor> {
  features: Sequential<Tensor>;
  classifier: Linear;

  constructor(options: DenseNetOptions = {}) {
    super();
    const growth = options.growthRate ?? 32;
    const blocks = options.blockConfig ?? [6, 12, 24, 16];
    const init = options.numInitFeatures ?? 64;
    const bnSize = options.bnSize ?? 4;
    const children: Record<string, Module> = {
      conv0: new Conv2d(3, init, 7, { stride: 2, padding: 3, bias: false }),
      norm0: new BatchNorm2d(init),
      relu0: new ReLU({ inplace: true }),
      pool0: new MaxPool2d(3, { stride: 2, padding: 1 }),
    };
    let numFeatures = init;
    blocks.forEach((numLayers, i) => {
      children[`denseblock${i + 1}`] = new DenseBlock(numLayers, numFeatures, bnSize, growth, options.dropRate ?? 0);
      numFeatures += numLayers * growth;
      if (i !== blocks.length - 1) {
        children[`transition${i + 1}`] = new Transition(numFeatures, Math.floor(numFeatures / 2));
        numFeatures = Math.floor(numFeatures / 2);
      }
    });
    children.norm5 = new BatchNorm2d(numFeatures);
    this.features = new Sequential<Tensor>(children);
    this.classifier = new Linear(numFeatures, options.numClasses ?? 1000);
    initWeights(this, { conv: kaimingNormal('fanIn'), zeroLinearBias: true });
  }

  forward(x: Tensor): Tensor {
    const features = this.features.call(x);
    let out = relu(features);
    out = adaptiveAvgPool2d(out, [1, 1]);
    out = flatten(out, 1);
    return this.classifier.call(out);
  }
}

const IMAGENET = { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' } as const;
for (const [name, growthRate, blockConfig, numInitFeatures] of [
  ['densenet121', 32, [6, 12, 24, 16], 64],
  ['densenet161', 48, [6, 12, 36, 24], 96],
  ['densenet169', 32, [6, 12, 32, 32], 64],
  ['densenet201', 32, [6, 12, 48, 32], 64],
] as const) {
  registerModel({
    name,
    build: (o: DenseNetOptions = {}) => new DenseNet({ growthRate, blockConfig, numInitFeatures, ...o }),
    options: ['growthRate', 'blockConfig', 'numInitFeatures', 'bnSize', 'dropRate'],
    transform: IMAGENET,
  });
}
