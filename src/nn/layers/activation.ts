/** Activation layers: each is its op as a module, as in torch.nn. */
import * as F from '../../ops/functional.js';
import type { GeluOptions } from '../../ops/gelu.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerBuiltinLayer } from '../leaf.js';
import { Module } from '../module.js';

abstract class Activation extends Module<[Tensor], Tensor> {
  /** PyTorch's `inplace` flag is accepted for compatibility; tensors here are never modified. */
  constructor(readonly options: { inplace?: boolean } = {}) {
    super();
  }
}

export class ReLU extends Activation {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

export class ReLU6 extends Activation {
  forward(x: Tensor): Tensor {
    return F.relu6(x);
  }
}

export class Hardswish extends Activation {
  forward(x: Tensor): Tensor {
    return F.hardswish(x);
  }
}

export class Hardsigmoid extends Activation {
  forward(x: Tensor): Tensor {
    return F.hardsigmoid(x);
  }
}

export class SiLU extends Activation {
  forward(x: Tensor): Tensor {
    return F.silu(x);
  }
}

export class Sigmoid extends Activation {
  forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

export class Tanh extends Activation {
  forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}

export class GELU extends Module<[Tensor], Tensor> {
  constructor(readonly options: GeluOptions = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.gelu(x, this.options);
  }
}

export class Softmax extends Module<[Tensor], Tensor> {
  constructor(readonly dim: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.softmax(x, this.dim);
  }
}

for (const layer of [ReLU, ReLU6, Hardswish, Hardsigmoid, SiLU, Sigmoid, Tanh, GELU, Softmax])
  registerBuiltinLayer(layer);
