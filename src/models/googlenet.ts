/** GoogLeNet (Inception v1), as torchvision 0.14's googlenet.py. */
import { Sequential } from '../nn/layers/containers.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { adaptiveAvgPool2d } from '../ops/adaptive-avg-pool2d.js';
import { cat } from '../ops/cat.js';
import { flatten } from '../ops/flatten.js';
import { relu } from '../ops/relu.js';
import type { Tensor } from '../tensor/tensor.js';
import { BasicConv2d, transformInput } from './basic-conv2d.js';
import { initWeights, truncNormal } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';

/** Four parallel branches (1×1; 1×1→3×3; 1×1→3×3; pool→1×1) concatenated along channels. */
export class Inception extends Module<[Tensor], Tensor> {
  branch1: BasicConv2d;
  branch2: Sequential<Tensor>;
  branch3: Sequential<Tensor>;
  branch4: Sequential<Tensor>;

  constructor(
    inCh: number,
    ch1x1: number,
    ch3x3red: number,
    ch3x3: number,
    ch5x5red: number,
    ch5x5: number,
    poolProj: number,
  ) {
    super();
    this.branch1 = new BasicConv2d(inCh, ch1x1, 1);
    this.branch2 = new Sequential<Tensor>(
      new BasicConv2d(inCh, ch3x3red, 1),
      new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1 }),
    );
    this.branch3 = new Sequential<Tensor>(
      new BasicConv2d(inCh, ch5x5red, 1),
      // A 3×3 where the paper has 5×5: torchvision keeps this known bug (pytorch/vision#906).
      new BasicConv2d(ch5x5red, ch5x5, 3, { padding: 1 }),
    );
    this.branch4 = new Sequential<Tensor>(
      new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }),
      new BasicConv2d(inCh, poolProj, 1),
    );
  }

  forward(x: Tensor): Tensor {
    return cat([this.branch1.call(x), this.branch2.call(x), this.branch3.call(x), this.branch4.call(x)], 1);
  }
}

/** The auxiliary classifier, run in training mode only. */
export class InceptionAux extends Module<[Tensor], Tensor> {
  conv: BasicConv2d;
  fc1 = new Linear(2048, 1024);
  fc2: Linear;
  dropout: Dropout;

  constructor(inCh: number, numClasses: number, dropout: number) {
    super();
    this.conv = new BasicConv2d(inCh, 128, 1);
    this.fc2 = new Linear(1024, numClasses);
    this.dropout = new Dropout(dropout);
  }

  forward(x: Tensor): Tensor {
    x = adaptiveAvgPool2d(x, [4, 4]);
    x = this.conv.call(x);
    x = flatten(x, 1);
    x = relu(this.fc1.call(x));
    x = this.dropout.call(x);
    return this.fc2.call(x);
  }
}

/** torchvision's GoogLeNetOutputs: what a training-mode GoogLeNet with auxiliary heads returns. */
export interface GoogLeNetOutputs {
  logits: Tensor;
  aux_logits2: Tensor | null;
  aux_logits1: Tensor | null;
}

export interface GoogLeNetOptions extends ModelOptions {
  /** Auxiliary classifiers after inception4a and 4d (default true, as torchvision's class). */
  auxLogits?: boolean;
  /** Re-normalise ImageNet-normalised inputs as Google's weights expect (set it for torchvision's checkpoint). */
  transformInput?: boolean;
  dropout?: number;
  dropoutAux?: number;
}

export class GoogLeNet extends Module<[Tensor], Tensor | GoogLeNetOutputs> {
  conv1 = new BasicConv2d(3, 64, 7, { stride: 2, padding: 3 });
  maxpool1 = new MaxPool2d(3, { stride: 2, ceilMode: true });
  conv2 = new BasicConv2d(64, 64, 1);
  conv3 = new BasicConv2d(64, 192, 3, { padding: 1 });
  maxpool2 = new MaxPool2d(3, { stride: 2, ceilMode: true });
  inception3a = new Inception(192, 64, 96, 128, 16, 32, 32);
  inception3b = new Inception(256, 128, 128, 192, 32, 96, 64);
  maxpool3 = new MaxPool2d(3, { stride: 2, ceilMode: true });
  inception4a = new Inception(480, 192, 96, 208, 16, 48, 64);
  inception4b = new Inception(512, 160, 112, 224, 24, 64, 64);
  inception4c = new Inception(512, 128, 128, 256, 24, 64, 64);
  inception4d = new Inception(512, 112, 144, 288, 32, 64, 64);
  inception4e = new Inception(528, 256, 160, 320, 32, 128, 128);
  maxpool4 = new MaxPool2d(2, { stride: 2, ceilMode: true });
  inception5a = new Inception(832, 256, 160, 320, 32, 128, 128);
  inception5b = new Inception(832, 384, 192, 384, 48, 128, 128);
  aux1: InceptionAux | null;
  aux2: InceptionAux | null;
  avgpool = new AdaptiveAvgPool2d([1, 1]);
  dropout: Dropout;
  fc: Linear;
  readonly transformInput: boolean;

  constructor(options: GoogLeNetOptions = {}) {
    super();
    const numClasses = options.numClasses ?? 1000;
    const auxLogits = options.auxLogits ?? true;
    this.aux1 = auxLogits ? new InceptionAux(512, numClasses, options.dropoutAux ?? 0.7) : null;
    this.aux2 = auxLogits ? new InceptionAux(528, numClasses, options.dropoutAux ?? 0.7) : null;
    this.dropout = new Dropout(options.dropout ?? 0.2);
    this.fc = new Linear(1024, numClasses);
    this.transformInput = options.transformInput ?? false;
    initWeights(this, { conv: truncNormal(0.01), linear: truncNormal(0.01) });
  }

  forward(x: Tensor): Tensor | GoogLeNetOutputs {
    if (this.transformInput) x = transformInput(x);
    x = this.conv1.call(x);
    x = this.maxpool1.call(x);
    x = this.conv2.call(x);
    x = this.conv3.call(x);
    x = this.maxpool2.call(x);
    x = this.inception3a.call(x);
    x = this.inception3b.call(x);
    x = this.maxpool3.call(x);
    x = this.inception4a.call(x);
    const aux1 = this.aux1 !== null && this.training ? this.aux1.call(x) : null;
    x = this.inception4b.call(x);
    x = this.inception4c.call(x);
    x = this.inception4d.call(x);
    const aux2 = this.aux2 !== null && this.training ? this.aux2.call(x) : null;
    x = this.inception4e.call(x);
    x = this.maxpool4.call(x);
    x = this.inception5a.call(x);
    x = this.inception5b.call(x);
    x = this.avgpool.call(x);
    x = flatten(x, 1);
    x = this.dropout.call(x);
    x = this.fc.call(x);
    // With auxiliary heads, training mode returns all three logits; eval mode the main ones only.
    return this.training && this.aux1 !== null ? { logits: x, aux_logits2: aux2, aux_logits1: aux1 } : x;
  }
}

registerModel({
  name: 'googlenet',
  build: (o: GoogLeNetOptions = {}) => new GoogLeNet(o),
  checkpointOptions: { transformInput: true },
  options: ['auxLogits', 'transformInput', 'dropout', 'dropoutAux'],
  transform: { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' },
});
