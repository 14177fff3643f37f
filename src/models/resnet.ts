/**
 * ResNet, ResNeXt and Wide ResNet, as torchvision 0.14's resnet.py: same modules, same state-dict
 * keys, same forward order (so node names match torchvision's).
 */
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Conv2d } from '../nn/layers/conv.js';
import { ReLU } from '../nn/layers/activation.js';
import { Sequential } from '../nn/layers/containers.js';
import { Linear } from '../nn/layers/linear.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { flatten } from '../ops/flatten.js';
import type { Tensor } from '../tensor/tensor.js';
import { initWeights, kaimingNormal } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';
import { add } from '../ops/add.js';

function conv3x3(inPlanes: number, outPlanes: number, stride = 1, groups = 1, dilation = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: dilation, groups, bias: false, dilation });
}

function conv1x1(inPlanes: number, outPlanes: number, stride = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false });
}

interface BlockArgs {
  inplanes: number;
  planes: number;
  stride: number;
  downsample: Sequential<Tensor> | null;
  groups: number;
  baseWidth: number;
  dilation: number;
}

export class BasicBlock extends Module<[Tensor], Tensor> {
  static readonly expansion = 1;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu = new ReLU({ inplace: true });
  conv2: Conv2d;
  bn2: BatchNorm2d;
  downsample: Sequential<Tensor> | null;

  constructor(a: BlockArgs) {
    super();
    if (a.groups !== 1 || a.baseWidth !== 64)
      throw new RangeError('BasicBlock only supports groups=1 and base_width=64');
    if (a.dilation > 1) throw new RangeError('Dilation > 1 not supported in BasicBlock');
    this.conv1 = conv3x3(a.inplanes, a.planes, a.stride);
    this.bn1 = new BatchNorm2d(a.planes);
    this.conv2 = conv3x3(a.planes, a.planes);
    this.bn2 = new BatchNorm2d(a.planes);
    this.downsample = a.downsample;
  }

  forward(x: Tensor): Tensor {
    let identity = x;
    let out = this.conv1.call(x);
    out = this.bn1.call(out);
    out = this.relu.call(out);
    out = this.conv2.call(out);
    out = this.bn2.call(out);
    if (this.downsample !== null) identity = this.downsample.call(x);
    out = add(out, identity);
    return this.relu.call(out);
  }
}

export class Bottleneck extends Module<[Tensor], Tensor> {
  static readonly expansion = 4;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  conv3: Conv2d;
  bn3: BatchNorm2d;
  relu = new ReLU({ inplace: true });
  downsample: Sequential<Tensor> | null;

  constructor(a: BlockArgs) {
    super();
    const width = Math.floor(a.planes * (a.baseWidth / 64)) * a.groups;
    this.conv1 = conv1x1(a.inplanes, width);
    this.bn1 = new BatchNorm2d(width);
    this.conv2 = conv3x3(width, width, a.stride, a.groups, a.dilation);
    this.bn2 = new BatchNorm2d(width);
    this.conv3 = conv1x1(width, a.planes * Bottleneck.expansion);
    this.bn3 = new BatchNorm2d(a.planes * Bottleneck.expansion);
    this.downsample = a.downsample;
  }

  forward(x: Tensor): Tensor {
    let identity = x;
    let out = this.conv1.call(x);
    out = this.bn1.call(out);
    out = this.relu.call(out);
    out = this.conv2.call(out);
    out = this.bn2.call(out);
    out = this.relu.call(out);
    out = this.conv3.call(out);
    out = this.bn3.call(out);
    if (this.downsample !== null) identity = this.downsample.call(x);
    out = add(out, identity);
    return this.relu.call(out);
  }
}

type Block = typeof BasicBlock | typeof Bottleneck;

export interface ResNetOptions extends ModelOptions {
  zeroInitResidual?: boolean;
  groups?: number;
  widthPerGroup?: number;
  replaceStrideWithDilation?: [boolean, boolean, boolean];
}

export class ResNet extends Module<[Tensor], Tensor> {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu = new ReLU({ inplace: true });
  maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
  layer1: Sequential<Tensor>;
  layer2: Sequential<Tensor>;
  layer3: Sequential<Tensor>;
  layer4: Sequential<Tensor>;
  avgpool = new AdaptiveAvgPool2d([1, 1]);
  fc: Linear;
  private inplanes = 64;
  private dilation = 1;

  constructor(
    block: Block,
    layers: readonly [number, number, number, number],
    private readonly config: ResNetOptions = {},
  ) {
    super();
    const dilate = config.replaceStrideWithDilation ?? [false, false, false];
    this.conv1 = new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new BatchNorm2d(64);
    this.layer1 = this.makeLayer(block, 64, layers[0]);
    this.layer2 = this.makeLayer(block, 128, layers[1], 2, dilate[0]);
    this.layer3 = this.makeLayer(block, 256, layers[2], 2, dilate[1]);
    this.layer4 = this.makeLayer(block, 512, layers[3], 2, dilate[2]);
    this.fc = new Linear(512 * block.expansion, config.numClasses ?? 1000);
    initWeights(this, { conv: kaimingNormal('fanOut') });
    if (config.zeroInitResidual === true) {
      for (const m of this.modules()) {
        if (m instanceof Bottleneck) m.bn3.weight = m.bn3.weight!.mul(0);
        else if (m instanceof BasicBlock) m.bn2.weight = m.bn2.weight!.mul(0);
      }
    }
  }

  private makeLayer(block: Block, planes: number, blocks: number, stride = 1, dilate = false): Sequential<Tensor> {
    let downsample: Sequential<Tensor> | null = null;
    const previousDilation = this.dilation;
    if (dilate) {
      this.dilation *= stride;
      stride = 1;
    }
    if (stride !== 1 || this.inplanes !== planes * block.expansion) {
      downsample = new Sequential<Tensor>(
        conv1x1(this.inplanes, planes * block.expansion, stride),
        new BatchNorm2d(planes * block.expansion),
      );
    }
    const groups = this.config.groups ?? 1;
    const baseWidth = this.config.widthPerGroup ?? 64;
    const layers: Module[] = [
      new block({ inplanes: this.inplanes, planes, stride, downsample, groups, baseWidth, dilation: previousDilation }),
    ];
    this.inplanes = planes * block.expansion;
    for (let i = 1; i < blocks; i++) {
      layers.push(
        new block({
          inplanes: this.inplanes,
          planes,
          stride: 1,
          downsample: null,
          groups,
          baseWidth,
          dilation: this.dilation,
        }),
      );
    }
    return new Sequential<Tensor>(...layers);
  }

  forward(x: Tensor): Tensor {
    x = this.conv1.call(x);
    x = this.bn1.call(x);
    x = this.relu.call(x);
    x = this.maxpool.call(x);
    x = this.layer1.call(x);
    x = this.layer2.call(x);
    x = this.layer3.call(x);
    x = this.layer4.call(x);
    x = this.avgpool.call(x);
    x = flatten(x, 1);
    return this.fc.call(x);
  }
}

const IMAGENET = { resizeSize: 256, cropSize: 224, interpolation: 'bilinear' } as const;

function builder(block: Block, layers: [number, number, number, number], preset: ResNetOptions = {}) {
  return (options: ResNetOptions = {}): ResNet => new ResNet(block, layers, { ...preset, ...options });
}

export const resnet18 = builder(BasicBlock, [2, 2, 2, 2]);
export const resnet34 = builder(BasicBlock, [3, 4, 6, 3]);
export const resnet50 = builder(Bottleneck, [3, 4, 6, 3]);
export const resnet101 = builder(Bottleneck, [3, 4, 23, 3]);
export const resnet152 = builder(Bottleneck, [3, 8, 36, 3]);
export const resnext50_32x4d = builder(Bottleneck, [3, 4, 6, 3], { groups: 32, widthPerGroup: 4 });
export const resnext101_32x8d = builder(Bottleneck, [3, 4, 23, 3], { groups: 32, widthPerGroup: 8 });
export const resnext101_64x4d = builder(Bottleneck, [3, 4, 23, 3], { groups: 64, widthPerGroup: 4 });
export const wide_resnet50_2 = builder(Bottleneck, [3, 4, 6, 3], { widthPerGroup: 128 });
export const wide_resnet101_2 = builder(Bottleneck, [3, 4, 23, 3], { widthPerGroup: 128 });

for (const [name, build] of Object.entries({
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnext50_32x4d,
  resnext101_32x8d,
  resnext101_64x4d,
  wide_resnet50_2,
  wide_resnet101_2,
})) {
  registerModel({
    name,
    build,
    options: ['zeroInitResidual', 'groups', 'widthPerGroup', 'replaceStrideWithDilation'],
    // torchvision's only resnext101_64x4d weights come from its newer recipe, evaluated at 232.
    transform: name === 'resnext101_64x4d' ? { ...IMAGENET, resizeSize: 232 } : IMAGENET,
  });
}
