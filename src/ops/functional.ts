/**
 * The functional namespace, `F` (PyTorch's `torch` and `torch.nn.functional` in one): the one
 * table of ops users call by name. Each entry is the op itself (ops are callable), from its
 * definition file. TypeScript names are camelCase; op and graph-node names stay PyTorch's.
 */

// Numeric ops: elementwise, reductions, normalisation, pooling, linear algebra.
export { abs } from './abs.js';
export { adaptiveAvgPool2d, adaptiveMaxPool2d, type AdaptiveSize } from './adaptive-avg-pool2d.js';
export { adaptiveMaxPool2dWithIndices } from './adaptive-max-pool2d-with-indices.js';
export { add } from './add.js';
export { amax } from './amax.js';
export { arange } from './arange.js';
export { argmax } from './argmax.js';
export { avgPool2d, type AvgPool2dOptions } from './avg-pool2d.js';
export { batchNorm, batchNormStats, type BatchNormOptions } from './batch-norm.js';
export { clamp, type ClampOptions } from './clamp.js';
export { conv2d, type Conv2dOptions } from './conv2d.js';
export { convTranspose2d, type ConvTranspose2dOptions } from './conv-transpose2d.js';
export { div, type DivOptions } from './div.js';
export { dropout, type DropoutOptions } from './dropout.js';
export { stochasticDepth, type StochasticDepthMode } from './stochastic-depth.js';
export { einsum } from './einsum.js';
export { eq } from './eq.js';
export { erf } from './erf.js';
export { exp } from './exp.js';
export { ceil, floor, round } from './rounding.js';
export { floordiv } from './floordiv.js';
export { ge } from './ge.js';
export { gelu, type GeluOptions } from './gelu.js';
export { groupNorm } from './group-norm.js';
export { gt } from './gt.js';
export { hardsigmoid } from './hardsigmoid.js';
export { hardswish } from './hardswish.js';
export { interpolate, type InterpolateOptions } from './interpolate.js';
export { layerNorm } from './layer-norm.js';
export { le } from './le.js';
export { linear } from './linear.js';
export { log } from './log.js';
export { log2 } from './log2.js';
export { logicalAnd, logicalNot, logicalOr } from './logical.js';
export { lt } from './lt.js';
export { bmm, matmul } from './matmul.js';
export { maxPool2d, type MaxPool2dOptions } from './max-pool2d.js';
export { maxPool2dWithIndices } from './max-pool2d-with-indices.js';
export { maximum } from './maximum.js';
export { mean } from './mean.js';
export { minimum } from './minimum.js';
export { mul } from './mul.js';
export { ne } from './ne.js';
export { neg } from './neg.js';
export { pow } from './pow.js';
export { relu } from './relu.js';
export { relu6 } from './relu6.js';
export { sigmoid } from './sigmoid.js';
export { silu } from './silu.js';
export { logSoftmax, softmax } from './softmax.js';
export { sqrt } from './sqrt.js';
export { sub } from './sub.js';
export { sum } from './sum.js';
export { topk, type TopkOptions } from './topk.js';
export { tanh } from './tanh.js';
export { maskedFill, where } from './where.js';

// Losses (torch.nn.functional's), composed from the ops above.
export {
  binaryCrossEntropyWithLogits,
  crossEntropy,
  mseLoss,
  smoothL1Loss,
  type BinaryCrossEntropyWithLogitsOptions,
  type CrossEntropyOptions,
  type Reduction,
  type SmoothL1LossOptions,
} from './losses/index.js';

// Shape and indexing ops.
export { cat, stack } from './cat.js';
export { dim } from './dim.js';
export { expand, repeat } from './expand.js';
export { flatten } from './flatten.js';
export { getitem, slice, Slice, type Index, type IndexItem } from './getitem.js';
export { pad, type PadOptions } from './pad.js';
export { contiguous, permute, transpose } from './permute.js';
export { reshape, view } from './reshape.js';
export { roll } from './roll.js';
export { newZeros } from './new-zeros.js';
export { gather } from './gather.js';
export { scatterAdd } from './scatter-add.js';
export { indexPut } from './index-put.js';
export { indexSelect } from './index-select.js';
export { nonzero } from './nonzero.js';
export { size } from './size.js';
export { chunk, split } from './split.js';
export { swapaxes } from './swapaxes.js';
export { to } from './to.js';
export { unfold, type UnfoldOptions } from './unfold.js';
export { squeeze, unsqueeze } from './unsqueeze.js';

// Detection ops (torchvision.ops).
export { nms } from './nms.js';
export { roiAlign, type RoiAlignOptions } from './roi-align.js';

// Tracing support: what torch.fx records for attribute reads.
export { getattr } from './getattr.js';
export { assert, type AssertMessage } from './assert.js';
