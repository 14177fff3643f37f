/**
 * The modules of torchvision's feature-extraction tests and of the seed documents, in TypeScript.
 * scripts/fixtures/make_feature_extraction.py holds their Python originals; node lists produced
 * by torchvision from those are in test/fixtures/feature-extraction/node-names.json.
 */
import { wrap } from '../../src/fx/wrap.js';
import { Module } from '../../src/nn/module.js';
import * as nn from '../../src/nn/index.js';
import { F } from '../../src/ops/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';

export class TestSubModule extends Module<[Tensor], Tensor> {
  relu = new nn.ReLU();
  forward(x: Tensor): Tensor {
    x = x.add(1);
    x = x.add(1);
    x = this.relu.call(x);
    x = this.relu.call(x);
    return x;
  }
}

export class TestModule extends Module<[Tensor], Tensor> {
  submodule = new TestSubModule();
  relu = new nn.ReLU();
  forward(x: Tensor): Tensor {
    x = this.submodule.call(x);
    x = x.add(1);
    x = x.add(1);
    x = this.relu.call(x);
    x = this.relu.call(x);
    return x;
  }
}

/** torchvision's train/eval test model: dropout p=1 and a branch on the training flag. */
export class TrainEvalModel extends Module<[Tensor], Tensor> {
  dropout = new nn.Dropout(1.0);
  forward(x: Tensor): Tensor {
    x = x.mean();
    x = this.dropout.call(x);
    x = this.training ? x.add(100) : x.mul(0);
    x = x.sub(0);
    return x;
  }
}

/** The blog post's ConvBlock. */
export class ConvBlock extends Module<[Tensor], Tensor> {
  convs: nn.ModuleList<nn.Sequential<Tensor>>;
  downsample = new nn.MaxPool2d(2, { stride: 2 });
  constructor(numLayers: number, inChannels: number, outChannels: number) {
    super();
    this.convs = new nn.ModuleList(
      Array.from(
        { length: numLayers },
        (_, i) =>
          new nn.Sequential<Tensor>(
            new nn.Conv2d(i === 0 ? inChannels : outChannels, outChannels, 3, { padding: 1 }),
            new nn.ReLU(),
          ),
      ),
    );
  }
  forward(x: Tensor): Tensor {
    for (const conv of this.convs) x = conv.call(x);
    return this.downsample.call(x);
  }
}

/** The blog post's toy CNN. */
export class CNN extends Module<[Tensor], Tensor> {
  // Fields are created in declaration order, even those assigned in the constructor, so the
  // children are listed as in the Python original: blocks, global_pool, cls.
  blocks: nn.ModuleList<ConvBlock>;
  global_pool = new nn.AdaptiveAvgPool2d([1, 1]);
  cls: nn.Linear;
  constructor(inChannels: number, numBlocks: number, numClasses: number) {
    super();
    const first = 64;
    this.blocks = new nn.ModuleList(
      Array.from(
        { length: numBlocks },
        (_, i) => new ConvBlock(i === 0 ? 2 : 3, i === 0 ? inChannels : first * 2 ** (i - 1), first * 2 ** i),
      ),
    );
    this.cls = new nn.Linear(first * 2 ** (numBlocks - 1), numClasses);
  }
  forward(x: Tensor): Tensor {
    for (const block of this.blocks) x = block.call(x);
    x = this.global_pool.call(x);
    x = x.flatten(1);
    return this.cls.call(x);
  }
}

/** The API page's leaf function: it needs a real number, so it must not be traced through. */
export const leafFunction = wrap(
  function leafFunction(x: number): number {
    return Math.trunc(x);
  },
  { global: false },
);

export class LeafModule extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    // Would throw a TraceError if traced through: a traced size is not a JS number.
    Math.trunc(x.shape[0]!);
    return F.relu(x.add(4));
  }
}

export class MyModule extends Module<[Tensor], Tensor> {
  conv = new nn.Conv2d(3, 1, 3);
  leaf_module = new LeafModule();
  forward(x: Tensor): Tensor {
    leafFunction(x.shape[0]!);
    x = this.conv.call(x);
    return this.leaf_module.call(x);
  }
}

/** The blog's `torch.fx.wrap('len')` example: a globally wrapped `len`. */
export const len = wrap(function len(x: Tensor): number {
  return x.shape[0]!;
});

export class LenModule extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    x = x.add(1);
    len(x);
    return x;
  }
}

export class Inner extends Module<[Tensor], Tensor> {
  forward(x: Tensor): Tensor {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const y = x.reshape([n, c, F.mul(h, w)]);
    return y.mean(2).add(y.amax(2));
  }
}

export class Shapes extends Module<[Tensor], Tensor> {
  a = new Inner();
  b = new Inner();
  forward(x: Tensor): Tensor {
    return this.a.call(x).add(this.b.call(x)).add(this.a.call(x));
  }
}
