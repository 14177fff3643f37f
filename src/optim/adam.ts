/** Adam and AdamW, as `torch.optim.Adam` and `torch.optim.AdamW`: one update, two weight decays. */
import { add } from '../ops/add.js';
import { div } from '../ops/div.js';
import { maximum } from '../ops/maximum.js';
import { mul } from '../ops/mul.js';
import { neg } from '../ops/neg.js';
import { sqrt } from '../ops/sqrt.js';
import { sub } from '../ops/sub.js';
import type { Tensor } from '../tensor/tensor.js';
import { type ParamGroup, type ParamState, type Params, Optimizer, checkOption } from './optimizer.js';

export interface AdamOptions {
  lr: number;
  /** Decay rates of the first and second moment estimates. */
  betas: [number, number];
  /** Added to the denominator for numerical stability. */
  eps: number;
  weightDecay: number;
  /** Use the maximum of past second moments (the AMSGrad variant). */
  amsgrad: boolean;
  maximize: boolean;
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  /** AdamW decays the param itself; Adam adds the decay to the gradient (L2 regularisation). */
  protected abstract readonly decoupledWeightDecay: boolean;

  /** torch's defaults, which differ between Adam and AdamW in the weight decay only. */
  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions>, weightDecay: number) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay,
      amsgrad: false,
      maximize: false,
      ...options,
    });
  }

  protected validate(o: AdamOptions): void {
    const name = this.constructor.name;
    checkOption(name, o.lr >= 0, `Invalid learning rate: ${o.lr}`);
    checkOption(name, o.eps >= 0, `Invalid epsilon value: ${o.eps}`);
    if (!Array.isArray(o.betas) || o.betas.length !== 2) {
      throw new TypeError(`[${name}] betas must be a pair [beta1, beta2], got ${JSON.stringify(o.betas)}`);
    }
    o.betas.forEach((beta, i) =>
      checkOption(name, beta >= 0 && beta < 1, `Invalid beta parameter at index ${i}: ${beta}`),
    );
    checkOption(name, o.weightDecay >= 0, `Invalid weight_decay value: ${o.weightDecay}`);
  }

  stateNames(group: ParamGroup<AdamOptions>): string[] {
    return group.amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq'];
  }

  /** The bias corrections of step t, computed in float64 as torch does in Python. */
  stepScalars(group: ParamGroup<AdamOptions>, state: ParamState): Record<string, number> {
    const step = ((state.step as number | undefined) ?? 0) + 1;
    const [beta1, beta2] = group.betas;
    return {
      lr: group.lr,
      stepSize: group.lr / (1 - beta1 ** step),
      secondCorrection: Math.sqrt(1 - beta2 ** step),
    };
  }

  override advance(state: ParamState): void {
    state.step = ((state.step as number | undefined) ?? 0) + 1;
  }

  update(
    param: Tensor,
    gradient: Tensor,
    state: Record<string, Tensor>,
    g: ParamGroup<AdamOptions>,
    scalars: Readonly<Record<string, Tensor | number>>,
  ): Tensor {
    const [beta1, beta2] = g.betas;
    let grad = g.maximize ? neg(gradient) : gradient;
    let p = param;
    if (g.weightDecay !== 0) {
      if (this.decoupledWeightDecay) p = sub(param, mul(mul(param, scalars.lr!), g.weightDecay));
      else grad = add(grad, mul(param, g.weightDecay));
    }
    const expAvg = add(mul(state.expAvg!, beta1), mul(grad, 1 - beta1));
    const expAvgSq = add(mul(state.expAvgSq!, beta2), mul(mul(grad, grad), 1 - beta2));
    state.expAvg = expAvg;
    state.expAvgSq = expAvgSq;
    let second = expAvgSq;
    if (g.amsgrad) {
      second = maximum(state.maxExpAvgSq!, expAvgSq);
      state.maxExpAvgSq = second;
    }
    const denom = add(div(sqrt(second), scalars.secondCorrection!), g.eps);
    return sub(p, mul(div(expAvg, denom), scalars.stepSize!));
  }
}

/**
 * Adam, as `torch.optim.Adam`; `weightDecay` adds `weightDecay * param` to the gradient.
 * @example
 * const opt = new optim.Adam(resnet18().parameters(), { lr: 1e-3 });
 */
export class Adam extends AdamBase {
  protected readonly decoupledWeightDecay = false;

  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, options, 0);
  }
}

/**
 * AdamW, as `torch.optim.AdamW`: the decay shrinks the param by `lr * weightDecay` each step,
 * apart from the gradient (default weightDecay 1e-2).
 */
export class AdamW extends AdamBase {
  protected readonly decoupledWeightDecay = true;

  constructor(params: Params<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super(params, options, 1e-2);
  }
}
