/** Stochastic gradient descent with momentum, as `torch.optim.SGD`. */
import { add } from '../ops/add.js';
import { mul } from '../ops/mul.js';
import { neg } from '../ops/neg.js';
import { sub } from '../ops/sub.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ParamGroup, type ParamState, type Params, Optimizer, checkOption } from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (default 1e-3, as torch 2's). */
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0. */
  nesterov: boolean;
  /** Maximize the objective instead of minimizing it. */
  maximize: boolean;
}

/**
 * @example
 * const model = new nn.Linear(4, 2);
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * opt.zeroGrad();
 * F.mseLoss(model.call(randn([8, 4])), randn([8, 2])).backward();
 * opt.step(); // model.weight now holds the updated values
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super(params, {
      lr: 1e-3,
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      ...options,
    });
  }

  protected validate(o: SGDOptions): void {
    checkOption('SGD', o.lr >= 0, `Invalid learning rate: ${o.lr}`);
    checkOption('SGD', o.momentum >= 0, `Invalid momentum value: ${o.momentum}`);
    checkOption('SGD', o.weightDecay >= 0, `Invalid weight_decay value: ${o.weightDecay}`);
    checkOption(
      'SGD',
      !o.nesterov || (o.momentum > 0 && o.dampening === 0),
      'Nesterov momentum requires a momentum and zero dampening',
    );
  }

  stateNames(group: ParamGroup<SGDOptions>): string[] {
    return group.momentum === 0 ? [] : ['momentumBuffer'];
  }

  /** torch's first momentum buffer is the step itself, undamped: the buffer starts at zero and takes all of it. */
  stepScalars(group: ParamGroup<SGDOptions>, state: ParamState): Record<string, number> {
    return { lr: group.lr, stepWeight: state.momentumBuffer === undefined ? 1 : 1 - group.dampening };
  }

  update(
    param: Tensor,
    grad: Tensor,
    state: Record<string, Tensor>,
    g: ParamGroup<SGDOptions>,
    scalars: Readonly<Record<string, Tensor | number>>,
  ): Tensor {
    let d = g.maximize ? neg(grad) : grad;
    if (g.weightDecay !== 0) d = add(d, mul(param, g.weightDecay));
    if (g.momentum !== 0) {
      const buffer = add(mul(state.momentumBuffer!, g.momentum), mul(d, scalars.stepWeight!));
      state.momentumBuffer = buffer;
      d = g.nesterov ? add(d, mul(buffer, g.momentum)) : buffer;
    }
    return sub(param, mul(d, scalars.lr!));
  }
}
