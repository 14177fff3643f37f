/** RegNetX and RegNetY, every size torchvision 0.14 has, as its regnet.py. */
import { ReLU } from '../nn/layers/activation.js';
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Sequential } from '../nn/layers/containers.js';
import { Linear } from '../nn/layers/linear.js';
import { AdaptiveAvgPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { Conv2dNormActivation } from '../nn/vision-ops/conv2d-norm-activation.js';
import { SqueezeExcitation } from '../nn/vision-ops/squeeze-excitation.js';
import type { Tensor } from '../tensor/tensor.js';
import { makeDivisible } from './make-divisible.js';
import { initWeights, kaimingNormal, normalStd } from './init-weights.js';
import { type ModelOptions, registerModel } from './registry.js';
import { add } from '../ops/add.js';

const relu = (): ReLU => new ReLU();
const bn = (c: number): BatchNorm2d => new BatchNorm2d(c);

/** Python's round(): halves go to the even neighbour (torch.round does the same). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** conv 1×1 → grouped conv 3×3 (stride) → optional squeeze-excitation → conv 1×1. */
class BottleneckTransform extends Sequential<Tensor> {
  constructor(widthIn: number, widthOut: number, stride: number, groupWidth: number, seRatio: number | undefined) {
    const wB = widthOut; // bottleneck multiplier 1.0 in every torchvision RegNet
    const layers: Record<string, Module> = {
      a: new Conv2dNormActivation(widthIn, wB, 1, { normLayer: bn, activationLayer: relu }),
      b: new Conv2dNormActivation(wB, wB, 3, {
        stride,
        groups: Math.floor(wB / groupWidth),
        normLayer: bn,
        activationLayer: relu,
      }),
    };
    // The SE reduction is relative to the block's input width.
    if (seRatio !== undefined)
      layers.se = new SqueezeExcitation(wB, roundHalfEven(seRatio * widthIn), { activation: relu });
    layers.c = new Conv2dNormActivation(wB, widthOut, 1, { normLayer: bn, activationLayer: null });
    super(layers);
  }
}

class ResBottleneckBlock extends Module<[Tensor], Tensor> {
  // A projection on the skip connection only where the shape changes.
  proj: Conv2dNormActivation | null;
  f: BottleneckTransform;
  activation = new ReLU({ inplace: true });

  constructor(widthIn: number, widthOut: number, stride: number, groupWidth: number, seRatio: number | undefined) {
    super();
    this.proj =
      widthIn !== widthOut || stride !== 1
        ? new Conv2dNormActivation(widthIn, widthOut, 1, { stride, normLayer: bn, activationLayer: null })
        : null;
    this.f = new BottleneckTransform(widthIn, widthOut, stride, groupWidth, seRatio);
  }

  forward(x: Tensor): Tensor {
    x = this.proj !== null ? add(this.proj.call(x), this.f.call(x)) : add(x, this.f.call(x));
    return this.activation.call(x);
  }
}

interface Stage {
  width: number;
  depth: number;
  groupWidth: number;
}

/**
 * torchvision's `BlockParams.from_init_params`: per-block widths from the linear parameterisation
 * (w_0, w_a, w_m), quantised to multiples of 8, grouped into stages of equal width. torchvision
 * computes this in float32 tensors; `Math.fround` keeps each step in float32 so that the widths
 * round the same way.
 */
function stagesFromInitParams(depth: number, w0: number, wA: number, wM: number, groupWidth: number): Stage[] {
  const f = Math.fround;
  const blockWidths = Array.from({ length: depth }, (_, i) => {
    const widthCont = f(f(i * f(wA)) + w0);
    const capacity = roundHalfEven(f(f(Math.log(f(widthCont / w0))) / f(Math.log(wM))));
    return roundHalfEven(f(f(w0 * f(Math.pow(f(wM), capacity))) / 8)) * 8;
  });
  const stages: Stage[] = [];
  for (const w of blockWidths) {
    const last = stages[stages.length - 1];
    if (last !== undefined && last.width === w) last.depth++;
    else stages.push({ width: w, depth: 1, groupWidth });
  }
  // Make the stage widths multiples of their (possibly reduced) group widths.
  return stages.map((s) => {
    const g = Math.min(groupWidth, s.width);
    return { width: makeDivisible(s.width, g), depth: s.depth, groupWidth: g };
  });
}

export interface RegNetOptions extends ModelOptions {
  stemWidth?: number;
}

export class RegNet extends Module<[Tensor], Tensor> {
  stem: Conv2dNormActivation;
  trunk_output: Sequential<Tensor>;
  avgpool = new AdaptiveAvgPool2d([1, 1]);
  fc: Linear;

  constructor(stages: readonly Stage[], seRatio: number | undefined, options: RegNetOptions = {}) {
    super();
    const stemWidth = options.stemWidth ?? 32;
    this.stem = new Conv2dNormActivation(3, stemWidth, 3, { stride: 2, normLayer: bn, activationLayer: relu });
    let current = stemWidth;
    const trunk: Record<string, Module> = {};
    stages.forEach((s, i) => {
      const blocks: Record<string, Module> = {};
      for (let j = 0; j < s.depth; j++) {
        blocks[`block${i + 1}-${j}`] = new ResBottleneckBlock(
          j === 0 ? current : s.width,
          s.width,
          j === 0 ? 2 : 1,
          s.groupWidth,
          seRatio,
        );
      }
      trunk[`block${i + 1}`] = new Sequential<Tensor>(blocks);
      current = s.width;
    });
    this.trunk_output = new Sequential<Tensor>(trunk);
    this.fc = new Linear(current, options.numClasses ?? 1000);
    // Convolutions keep their biases (only squeeze-excitation has any): torchvision sets weights only.
    initWeights(this, { conv: kaimingNormal('fanOut'), linear: normalStd(0.01), zeroLinearBias: true });
  }

  forward(x: Tensor): Tensor {
    x = this.stem.call(x);
    x = this.trunk_output.call(x);
    x = this.avgpool.call(x);
    x = x.flatten(1); // a method here, as in torchvision's RegNet (x.flatten(start_dim=1))
    return this.fc.call(x);
  }
}

const V2_TRANSFORM = { resizeSize: 232, cropSize: 224, interpolation: 'bilinear' } as const;

// name: depth, w_0, w_a, w_m, group width, SE ratio (RegNetY only)
const REGNETS: [string, number, number, number, number, number, number | undefined][] = [
  ['regnet_y_400mf', 16, 48, 27.89, 2.09, 8, 0.25],
  ['regnet_y_800mf', 14, 56, 38.84, 2.4, 16, 0.25],
  ['regnet_y_1_6gf', 27, 48, 20.71, 2.65, 24, 0.25],
  ['regnet_y_3_2gf', 21, 80, 42.63, 2.66, 24, 0.25],
  ['regnet_y_8gf', 17, 192, 76.82, 2.19, 56, 0.25],
  ['regnet_y_16gf', 18, 200, 106.23, 2.48, 112, 0.25],
  ['regnet_y_32gf', 20, 232, 115.89, 2.53, 232, 0.25],
  ['regnet_y_128gf', 27, 456, 160.83, 2.52, 264, 0.25],
  ['regnet_x_400mf', 22, 24, 24.48, 2.54, 16, undefined],
  ['regnet_x_800mf', 16, 56, 35.73, 2.28, 16, undefined],
  ['regnet_x_1_6gf', 18, 80, 34.01, 2.25, 24, undefined],
  ['regnet_x_3_2gf', 25, 88, 26.31, 2.25, 48, undefined],
  ['regnet_x_8gf', 23, 80, 49.56, 2.88, 120, undefined],
  ['regnet_x_16gf', 22, 216, 55.59, 2.1, 128, undefined],
  ['regnet_x_32gf', 23, 320, 69.86, 2.0, 168, undefined],
];

for (const [name, depth, w0, wA, wM, groupWidth, seRatio] of REGNETS) {
  registerModel({
    name,
    build: (o: RegNetOptions = {}) => new RegNet(stagesFromInitParams(depth, w0, wA, wM, groupWidth), seRatio, o),
    // regnet_y_128gf has only the SWAG end-to-end weights (384 px, bicubic).
    options: ['stemWidth'],
    transform: name === 'regnet_y_128gf' ? { resizeSize: 384, cropSize: 384, interpolation: 'bicubic' } : V2_TRANSFORM,
  });
}
