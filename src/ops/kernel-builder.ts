/**
 * The graph builder of eager kernels. Where export writes a constant (a scalar operand, Clip's
 * bounds, Reshape's shape, Slice's starts, Pad's pads, Resize's scales, ...) as an initializer,
 * an eager kernel takes it as one more graph input and is fed its values on every call. The
 * kernel's graph then depends only on the op's signature, not on its numbers: `x.add(1)` and
 * `x.add(2)` share one ONNX Runtime session. Numbers that ONNX only takes as attributes (a
 * convolution's strides, a reduction's axes at opset 17) still make distinct kernels.
 */
import type { RawTensor } from '../runtime/native-session.js';
import type { DType } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';
import { GraphBuilder, constantData, constantLayout } from './lowering.js';

export class KernelBuilder extends GraphBuilder {
  /** The values of the constants turned into inputs, in input order (after the tensors'). */
  readonly constantFeeds: RawTensor[] = [];

  override constant(values: number | readonly number[], dtype: DType, dims?: Shape): string {
    const { list, shape } = constantLayout(values, dims);
    // Graph inputs need plain names; '%' marks internal values, so constants are named apart.
    const name = `const${this.constantFeeds.length}`;
    this.addInput(name, dtype, shape);
    this.constantFeeds.push({ type: dtype, dims: shape, data: constantData(list, dtype) });
    return name;
  }
}
