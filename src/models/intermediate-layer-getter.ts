/**
 * torchvision's IntermediateLayerGetter (models/_utils.py): a model's top-level children up to
 * the last one asked for, run in order, returning the outputs of those asked for under new names.
 * The children keep their names, so the state-dict keys are the model's (`layer1.0.conv1.weight`).
 */
import { Module, setOwnField } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

export class IntermediateLayerGetter extends Module<[Tensor], Record<string, Tensor>> {
  /** Child name to output key, as torchvision's `return_layers`. */
  readonly returnLayers: Readonly<Record<string, string>>;

  constructor(model: Module, returnLayers: Record<string, string>) {
    super();
    const names = [...model.namedChildren()].map(([name]) => name);
    if (!Object.keys(returnLayers).every((name) => names.includes(name)))
      throw new RangeError(
        `return_layers are not present in model: asked for ${Object.keys(returnLayers).join(', ')}, ` +
          `the model's children are ${names.join(', ')}`,
      );
    this.returnLayers = { ...returnLayers };
    const wanted = new Set(Object.keys(returnLayers));
    for (const [name, child] of model.namedChildren()) {
      setOwnField(this, name, child);
      wanted.delete(name);
      if (wanted.size === 0) break;
    }
  }

  forward(x: Tensor): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, child] of this.namedChildren()) {
      x = child.call(x) as Tensor;
      if (Object.hasOwn(this.returnLayers, name))
        Object.defineProperty(out, this.returnLayers[name]!, { value: x, enumerable: true, writable: true });
    }
    return out;
  }
}
