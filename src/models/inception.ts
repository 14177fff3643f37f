/** Inception v3, as torchvision 0.14's inception.py. */
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { adaptiveAvgPool2d } from '../ops/adaptive-avg-pool2d.js';
import { avgPool2d } from '../ops/avg-pool2d.js';
import { cat } from '../ops/cat.js';
import { flatten } from '../ops/flatten.js';
import { maxPool2d } from '../ops/max-pool2d.js';
import type { Tensor } from '../tensor/tensor.js';
import { BasicConv2d, transformInput } from './basic-conv2d.js';
import { initWeights, truncNormal } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';

/** The 3×3 average pooling (stride 1, padded) that several blocks put before their pool branch. */
const avgPool3x3 = (x: Tensor): Tensor => avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1 });
const maxPool3x3s2 = (x: Tensor): Tensor => maxPool2d(x, { kernelSize: 3, stride: 2 });

export class InceptionA extends Module<[Tensor], Tensor> {
  branch1x1: BasicConv2d;
  branch5x5_1: BasicConv2d;
  branch5x5_2 = new BasicConv2d(48, 64, 5, { padding: 2 });
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
  branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { padding: 1 });
  branch_pool: BasicConv2d;

  constructor(inCh: number, poolFeatures: number) {
    super();
    this.branch1x1 = new BasicConv2d(inCh, 64, 1);
    this.branch5x5_1 = new BasicConv2d(inCh, 48, 1);
    this.branch3x3dbl_1 = new BasicConv2d(inCh, 64, 1);
    this.branch_pool = new BasicConv2d(inCh, poolFeatures, 1);
  }

  forward(x: Tensor): Tensor {
    const branch1x1 = this.branch1x1.call(x);
    const branch5x5 = this.branch5x5_2.call(this.branch5x5_1.call(x));
    const branch3x3dbl = this.branch3x3dbl_3.call(this.branch3x3dbl_2.call(this.branch3x3dbl_1.call(x)));
    const branchPool = this.branch_pool.call(avgPool3x3(x));
    return cat([branch1x1, branch5x5, branch3x3dbl, branchPool], 1);
  }
}

export class InceptionB extends Module<[Tensor], Tensor> {
  branch3x3: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
  branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { stride: 2 });

  constructor(inCh: number) {
    super();
    this.branch3x3 = new BasicConv2d(inCh, 384, 3, { stride: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inCh, 64, 1);
  }

  forward(x: Tensor): Tensor {
    const branch3x3 = this.branch3x3.call(x);
    const branch3x3dbl = this.branch3x3dbl_3.call(this.branch3x3dbl_2.call(this.branch3x3dbl_1.call(x)));
    return cat([branch3x3, branch3x3dbl, maxPool3x3s2(x)], 1);
  }
}

/** Factorised 7×7 convolutions: 1×7 and 7×1 in sequence. */
export class InceptionC extends Module<[Tensor], Tensor> {
  branch1x1: BasicConv2d;
  branch7x7_1: BasicConv2d;
  branch7x7_2: BasicConv2d;
  branch7x7_3: BasicConv2d;
  branch7x7dbl_1: BasicConv2d;
  branch7x7dbl_2: BasicConv2d;
  branch7x7dbl_3: BasicConv2d;
  branch7x7dbl_4: BasicConv2d;
  branch7x7dbl_5: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inCh: number, c7: number) {
    super();
    const conv1x7 = (cin: number, cout: number) => new BasicConv2d(cin, cout, [1, 7], { padding: [0, 3] });
    const conv7x1 = (cin: number, cout: number) => new BasicConv2d(cin, cout, [7, 1], { padding: [3, 0] });
    this.branch1x1 = new BasicConv2d(inCh, 192, 1);
    this.branch7x7_1 = new BasicConv2d(inCh, c7, 1);
    this.branch7x7_2 = conv1x7(c7, c7);
    this.branch7x7_3 = conv7x1(c7, 192);
    this.branch7x7dbl_1 = new BasicConv2d(inCh, c7, 1);
    this.branch7x7dbl_2 = conv7x1(c7, c7);
    this.branch7x7dbl_3 = conv1x7(c7, c7);
    this.branch7x7dbl_4 = conv7x1(c7, c7);
    this.branch7x7dbl_5 = conv1x7(c7, 192);
    this.branch_pool = new BasicConv2d(inCh, 192, 1);
  }

  forward(x: Tensor): Tensor {
    const branch1x1 = this.branch1x1.call(x);
    let branch7x7 = this.branch7x7_1.call(x);
    branch7x7 = this.branch7x7_3.call(this.branch7x7_2.call(branch7x7));
    let dbl = this.branch7x7dbl_1.call(x);
    dbl = this.branch7x7dbl_2.call(dbl);
    dbl = this.branch7x7dbl_3.call(dbl);
    dbl = this.branch7x7dbl_4.call(dbl);
    dbl = this.branch7x7dbl_5.call(dbl);
    const branchPool = this.branch_pool.call(avgPool3x3(x));
    return cat([branch1x1, branch7x7, dbl, branchPool], 1);
  }
}

export class InceptionD extends Module<[Tensor], Tensor> {
  branch3x3_1: BasicConv2d;
  branch3x3_2 = new BasicConv2d(192, 320, 3, { stride: 2 });
  branch7x7x3_1: BasicConv2d;
  branch7x7x3_2 = new BasicConv2d(192, 192, [1, 7], { padding: [0, 3] });
  branch7x7x3_3 = new BasicConv2d(192, 192, [7, 1], { padding: [3, 0] });
  branch7x7x3_4 = new BasicConv2d(192, 192, 3, { stride: 2 });

  constructor(inCh: number) {
    super();
    this.branch3x3_1 = new BasicConv2d(inCh, 192, 1);
    this.branch7x7x3_1 = new BasicConv2d(inCh, 192, 1);
  }

  forward(x: Tensor): Tensor {
    const branch3x3 = this.branch3x3_2.call(this.branch3x3_1.call(x));
    let branch7x7x3 = this.branch7x7x3_1.call(x);
    branch7x7x3 = this.branch7x7x3_2.call(branch7x7x3);
    branch7x7x3 = this.branch7x7x3_3.call(branch7x7x3);
    branch7x7x3 = this.branch7x7x3_4.call(branch7x7x3);
    return cat([branch3x3, branch7x7x3, maxPool3x3s2(x)], 1);
  }
}

/** Expanded filter banks: 1×3 and 3×1 side by side. */
export class InceptionE extends Module<[Tensor], Tensor> {
  branch1x1: BasicConv2d;
  branch3x3_1: BasicConv2d;
  branch3x3_2a = new BasicConv2d(384, 384, [1, 3], { padding: [0, 1] });
  branch3x3_2b = new BasicConv2d(384, 384, [3, 1], { padding: [1, 0] });
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2 = new BasicConv2d(448, 384, 3, { padding: 1 });
  branch3x3dbl_3a = new BasicConv2d(384, 384, [1, 3], { padding: [0, 1] });
  branch3x3dbl_3b = new BasicConv2d(384, 384, [3, 1], { padding: [1, 0] });
  branch_pool: BasicConv2d;

  constructor(inCh: number) {
    super();
    this.branch1x1 = new BasicConv2d(inCh, 320, 1);
    this.branch3x3_1 = new BasicConv2d(inCh, 384, 1);
    this.branch3x3dbl_1 = new BasicConv2d(inCh, 448, 1);
    this.branch_pool = new BasicConv2d(inCh, 192, 1);
  }

  forward(x: Tensor): Tensor {
    const branch1x1 = this.branch1x1.call(x);
    const b3 = this.branch3x3_1.call(x);
    const branch3x3 = cat([this.branch3x3_2a.call(b3), this.branch3x3_2b.call(b3)], 1);
    let dbl = this.branch3x3dbl_1.call(x);
    dbl = this.branch3x3dbl_2.call(dbl);
    const branch3x3dbl = cat([this.branch3x3dbl_3a.call(dbl), this.branch3x3dbl_3b.call(dbl)], 1);
    const branchPool = this.branch_pool.call(avgPool3x3(x));
    return cat([branch1x1, branch3x3, branch3x3dbl, branchPool], 1);
  }
}

export class InceptionV3Aux extends Module<[Tensor], Tensor> {
  conv0: BasicConv2d;
  conv1 = new BasicConv2d(128, 768, 5);
  fc: Linear;

  constructor(inCh: number, numClasses: number) {
    super();
    this.conv0 = new BasicConv2d(inCh, 128, 1);
    this.fc = new Linear(768, numClasses);
  }

  forward(x: Tensor): Tensor {
    x = avgPool2d(x, { kernelSize: 5, stride: 3 });
    x = this.conv0.call(x);
    x = this.conv1.call(x);
    x = adaptiveAvgPool2d(x, [1, 1]);
    x = flatten(x, 1);
    return this.fc.call(x);
  }
}

/** torchvision's InceptionOutputs: what a training-mode Inception3 with the auxiliary head returns. */
export interface InceptionOutputs {
  logits: Tensor;
  aux_logits: Tensor | null;
}

export interface Inception3Options extends ModelOptions {
  /** The auxiliary classifier after Mixed_6e (default true, as torchvision's class). */
  auxLogits?: boolean;
  /** Re-normalise ImageNet-normalised inputs as Google's weights expect (set it for torchvision's checkpoint). */
  transformInput?: boolean;
  dropout?: number;
}

export class Inception3 extends Module<[Tensor], Tensor | InceptionOutputs> {
  Conv2d_1a_3x3 = new BasicConv2d(3, 32, 3, { stride: 2 });
  Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
  Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, { padding: 1 });
  maxpool1 = new MaxPool2d(3, { stride: 2 });
  Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
  Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
  maxpool2 = new MaxPool2d(3, { stride: 2 });
  Mixed_5b = new InceptionA(192, 32);
  Mixed_5c = new InceptionA(256, 64);
  Mixed_5d = new InceptionA(288, 64);
  Mixed_6a = new InceptionB(288);
  Mixed_6b = new InceptionC(768, 128);
  Mixed_6c = new InceptionC(768, 160);
  Mixed_6d = new InceptionC(768, 160);
  Mixed_6e = new InceptionC(768, 192);
  AuxLogits: InceptionV3Aux | null;
  Mixed_7a = new InceptionD(768);
  Mixed_7b = new InceptionE(1280);
  Mixed_7c = new InceptionE(2048);
  avgpool = new AdaptiveAvgPool2d([1, 1]);
  dropout: Dropout;
  fc: Linear;
  readonly transformInput: boolean;

  constructor(options: Inception3Options = {}) {
    super();
    const numClasses = options.numClasses ?? 1000;
    this.AuxLogits = (options.auxLogits ?? true) ? new InceptionV3Aux(768, numClasses) : null;
    this.dropout = new Dropout(options.dropout ?? 0.5);
    this.fc = new Linear(2048, numClasses);
    this.transformInput = options.transformInput ?? false;
    // std 0.1, but 0.001 for the auxiliary classifier's fc (torchvision's `stddev` attribute).
    const auxFc = this.AuxLogits?.fc;
    initWeights(this, {
      conv: truncNormal(0.1),
      linear: (shape, layer) => truncNormal(layer === auxFc ? 0.001 : 0.1)(shape, layer),
    });
  }

  forward(x: Tensor): Tensor | InceptionOutputs {
    if (this.transformInput) x = transformInput(x);
    x = this.Conv2d_1a_3x3.call(x);
    x = this.Conv2d_2a_3x3.call(x);
    x = this.Conv2d_2b_3x3.call(x);
    x = this.maxpool1.call(x);
    x = this.Conv2d_3b_1x1.call(x);
    x = this.Conv2d_4a_3x3.call(x);
    x = this.maxpool2.call(x);
    x = this.Mixed_5b.call(x);
    x = this.Mixed_5c.call(x);
    x = this.Mixed_5d.call(x);
    x = this.Mixed_6a.call(x);
    x = this.Mixed_6b.call(x);
    x = this.Mixed_6c.call(x);
    x = this.Mixed_6d.call(x);
    x = this.Mixed_6e.call(x);
    const aux = this.AuxLogits !== null && this.training ? this.AuxLogits.call(x) : null;
    x = this.Mixed_7a.call(x);
    x = this.Mixed_7b.call(x);
    x = this.Mixed_7c.call(x);
    x = this.avgpool.call(x);
    x = this.dropout.call(x);
    x = flatten(x, 1);
    x = this.fc.call(x);
    // With the auxiliary head, training mode returns both logits; eval mode the main ones only.
    return this.training && this.AuxLogits !== null ? { logits: x, aux_logits: aux } : x;
  }
}

registerModel({
  name: 'inception_v3',
  build: (o: Inception3Options = {}) => new Inception3(o),
  checkpointOptions: { transformInput: true },
  options: ['auxLogits', 'transformInput', 'dropout'],
  transform: { resizeSize: 342, cropSize: 299, interpolation: 'bilinear' },
});
