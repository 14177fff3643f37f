/** ShuffleNetV2 x0.5, x1.0, x1.5 and x2.0, as torchvision 0.14's shufflenetv2.py. */
import { ReLU } from '../nn/layers/activation.js';
import { BatchNorm2d } from '../nn/layers/batch-norm.js';
import { Conv2d } from '../nn/layers/conv.js';
import { Sequential } from '../nn/layers/containers.js';
import { Linear } from '../nn/layers/linear.js';
import { MaxPool2d } from '../nn/layers/pooling.js';
import { Module } from '../nn/module.js';
import { cat } from '../ops/cat.js';
import { floordiv } from '../ops/floordiv.js';
import { transpose } from '../ops/permute.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ModelOptions, registerModel } from './registry.js';

/** Interleaves the channels of `groups` groups, so that the next block's halves mix them. */
export function channelShuffle(x: Tensor, groups: number): Tensor {
  const [batchsize, numChannels, height, width] = x.size();
  // F.floordiv, not Math.floor: traced, the channel count is a graph value.
  const channelsPerGroup = floordiv(numChannels!, groups);
  x = x.view([batchsize!, groups, channelsPerGroup, height!, width!]);
  x = transpose(x, 1, 2).contiguous();
  return x.view([batchsize!, -1, height!, width!]);
}

const depthwiseConv = (channels: number, stride: number): Conv2d =>
  new Conv2d(channels, channels, 3, { stride, padding: 1, bias: false, groups: channels });
const pointwiseConv = (cin: number, cout: number): Conv2d => new Conv2d(cin, cout, 1, { bias: false });

/**
 * Stride 1: half the channels pass through, the other half go through branch2. Stride 2: both
 * branches see all channels and halve the resolution. Then the channels are shuffled.
 */
export class ShuffleInvertedResidual extends Module<[Tensor], Tensor> {
  branch1: Sequential<Tensor>;
  branch2: Sequential<Tensor>;

  constructor(
    inp: number,
    oup: number,
    readonly stride: number,
  ) {
    super();
    if (!(stride >= 1 && stride <= 3)) throw new RangeError('illegal stride value');
    const branchFeatures = Math.floor(oup / 2);
    if (stride === 1 && inp !== branchFeatures * 2) {
      throw new RangeError(
        `Invalid combination of stride ${stride}, inp ${inp} and oup ${oup} values. ` +
          `If stride == 1 then inp should be equal to oup // 2 << 1.`,
      );
    }
    this.branch1 =
      stride > 1
        ? new Sequential<Tensor>(
            depthwiseConv(inp, stride),
            new BatchNorm2d(inp),
            pointwiseConv(inp, branchFeatures),
            new BatchNorm2d(branchFeatures),
            new ReLU({ inplace: true }),
          )
        : new Sequential<Tensor>();
    this.branch2 = new Sequential<Tensor>(
      pointwiseConv(stride > 1 ? inp : branchFeatures, branchFeatures),
      new BatchNorm2d(branchFeatures),
      new ReLU({ inplace: true }),
      depthwiseConv(branchFeatures, stride),
      new BatchNorm2d(branchFeatures),
      pointwiseConv(branchFeatures, branchFeatures),
      new BatchNorm2d(branchFeatures),
      new ReLU({ inplace: true }),
    );
  }

  forward(x: Tensor): Tensor {
    let out: Tensor;
    if (this.stride === 1) {
      const [x1, x2] = x.chunk(2, 1);
      out = cat([x1!, this.branch2.call(x2!)], 1);
    } else {
      out = cat([this.branch1.call(x), this.branch2.call(x)], 1);
    }
    return channelShuffle(out, 2);
  }
}

export class ShuffleNetV2 extends Module<[Tensor], Tensor> {
  conv1: Sequential<Tensor>;
  maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
  stage2: Sequential<Tensor>;
  stage3: Sequential<Tensor>;
  stage4: Sequential<Tensor>;
  conv5: Sequential<Tensor>;
  fc: Linear;

  constructor(stagesRepeats: readonly number[], stagesOutChannels: readonly number[], options: ModelOptions = {}) {
    super();
    if (stagesRepeats.length !== 3) throw new RangeError('expected stages_repeats as list of 3 positive ints');
    if (stagesOutChannels.length !== 5) throw new RangeError('expected stages_out_channels as list of 5 positive ints');
    let input = stagesOutChannels[0]!;
    this.conv1 = new Sequential<Tensor>(
      new Conv2d(3, input, 3, { stride: 2, padding: 1, bias: false }),
      new BatchNorm2d(input),
      new ReLU({ inplace: true }),
    );
    const stages = stagesRepeats.map((repeats, i) => {
      const output = stagesOutChannels[i + 1]!;
      const blocks = [new ShuffleInvertedResidual(input, output, 2)];
      for (let j = 1; j < repeats; j++) blocks.push(new ShuffleInvertedResidual(output, output, 1));
      input = output;
      return new Sequential<Tensor>(...blocks);
    });
    [this.stage2, this.stage3, this.stage4] = stages as [Sequential<Tensor>, Sequential<Tensor>, Sequential<Tensor>];
    const last = stagesOutChannels[4]!;
    this.conv5 = new Sequential<Tensor>(
      new Conv2d(input, last, 1, { bias: false }),
      new BatchNorm2d(last),
      new ReLU({ inplace: true }),
    );
    this.fc = new Linear(last, options.numClasses ?? 1000);
  }

  forward(x: Tensor): Tensor {
    x = this.conv1.call(x);
    x = this.maxpool.call(x);
    x = this.stage2.call(x);
    x = this.stage3.call(x);
    x = this.stage4.call(x);
    x = this.conv5.call(x);
    x = x.mean([2, 3]); // global pooling
    return this.fc.call(x);
  }
}

for (const [name, channels, resizeSize] of [
  ['shufflenet_v2_x0_5', [24, 48, 96, 192, 1024], 256],
  ['shufflenet_v2_x1_0', [24, 116, 232, 464, 1024], 256],
  ['shufflenet_v2_x1_5', [24, 176, 352, 704, 1024], 232],
  ['shufflenet_v2_x2_0', [24, 244, 488, 976, 2048], 232],
] as const) {
  registerModel({
    name,
    build: (o: ModelOptions = {}) => new ShuffleNetV2([4, 8, 4], channels, o),
    options: [],
    transform: { resizeSize, cropSize: 224, interpolation: 'bilinear' },
  });
}
