/**
 * A module that runs compiled (one ONNX Runtime session) in eval mode and eagerly in train mode,
 * standing in for it inside a model under the same state-dict keys. Beyond torchvision.
 */
import { type CompileOptions, type CompiledModule, compile } from '../../fx/compile.js';
import { Module, setOwnField } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';

/**
 * Stands in for `module`: eval-mode calls run `compile(module)`, train-mode calls the module itself
 * (gradients flow through eager code only). It holds the module's children under their names, so
 * the model's state-dict keys and checkpoints are unchanged. Load weights before the first eval
 * call: the session copies them when it is built.
 */
export class CompiledInEval<In extends Tensor[], Out> extends Module<In, Out> {
  // Private fields are not children: the state dict sees the module's children once, under their names.
  readonly #eager: Module<In, Out>;
  readonly #options: Omit<CompileOptions, 'mode'>;
  #compiled: CompiledModule | undefined;

  constructor(module: Module<In, Out>, options: Omit<CompileOptions, 'mode'> = {}) {
    super();
    if (module instanceof CompiledInEval) throw new TypeError(`[${this.className}] the module is already compiled`);
    if ([...module.ownTensors('parameters'), ...module.ownTensors('buffers')].length > 0) {
      throw new TypeError(
        `[${this.className}] ${module.className} holds tensors of its own, which this wrapper cannot keep under ` +
          'their state-dict names; hold them in a submodule',
      );
    }
    for (const [name, child] of module.namedChildren()) setOwnField(this, name, child);
    this.#eager = module;
    this.#options = options;
    this.train(module.training);
  }

  /** The session, built on the first eval call (compile traces the module in eval mode). */
  get compiled(): CompiledModule {
    // The module's own flag is not reached by model.train()/eval() (it is no child): compile sets
    // it back, with its children's, after tracing, so it must be theirs.
    this.#compiled ??= compile(this.#eager.train(this.training), { ...this.#options, mode: 'eval' });
    return this.#compiled;
  }

  forward(...inputs: In): Out {
    if (this.training) return this.#eager.call(...inputs);
    return this.compiled.call(...inputs) as Out;
  }

  /** Frees the sessions (they are rebuilt on the next eval call). */
  dispose(): void {
    this.#compiled?.dispose();
    this.#compiled = undefined;
  }
}
