/**
 * A detection model's backbone (+ FPN) compiled to one ONNX Runtime session, its data-dependent
 * heads left eager: the backbone is most of the arithmetic and has a fixed graph, while the RPN and
 * RoI heads decide shapes from values. Beyond torchvision.
 */
import { type CompileOptions, type CompiledModule, compile } from '../../fx/compile.js';
import { Module, setOwnField } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';

/** What a detection model's backbone is: images [N,3,H,W] in, named feature maps out. */
type Backbone = Module<[Tensor], Record<string, Tensor>>;

/**
 * Stands in for a backbone: in eval mode it runs the compiled backbone, in train mode the eager one
 * (gradients flow through eager code only). It holds the backbone's own children under their names,
 * so the model's state-dict keys (`backbone.body.*`, `backbone.fpn.*`) and checkpoints are unchanged.
 * Load weights before the first call: the session copies them when it is built.
 */
export class CompiledBackbone extends Module<[Tensor], Record<string, Tensor>> {
  readonly outChannels: number;
  // Private fields are not children: the state dict sees the backbone's modules once, under their names.
  readonly #eager: Backbone;
  readonly #options: CompileOptions;
  #compiled: CompiledModule | undefined;

  constructor(backbone: Module, options: Omit<CompileOptions, 'mode'> = {}) {
    super();
    if (backbone instanceof CompiledBackbone)
      throw new TypeError('[CompiledBackbone] the backbone is already compiled');
    const { outChannels } = backbone as Module & { outChannels?: unknown };
    if (typeof outChannels !== 'number')
      throw new TypeError(
        `[CompiledBackbone] ${backbone.className} has no outChannels: it is not a detection backbone`,
      );
    if ([...backbone.ownTensors('parameters'), ...backbone.ownTensors('buffers')].length > 0) {
      throw new TypeError(
        `[CompiledBackbone] ${backbone.className} holds tensors of its own, which this wrapper cannot keep under ` +
          'their state-dict names; hold them in a submodule',
      );
    }
    for (const [name, child] of backbone.namedChildren()) setOwnField(this, name, child);
    this.outChannels = outChannels;
    this.#eager = backbone as Backbone;
    this.#options = options;
    this.train(backbone.training);
  }

  /** The session, built on the first eval call (compile traces the backbone in eval mode). */
  get compiled(): CompiledModule {
    this.#compiled ??= compile(this.#eager, { ...this.#options, mode: 'eval' });
    return this.#compiled;
  }

  forward(images: Tensor): Record<string, Tensor> {
    if (this.training) return this.#eager.call(images);
    return this.compiled.call(images) as Record<string, Tensor>;
  }

  /** Frees the sessions (they are rebuilt on the next eval call). */
  dispose(): void {
    this.#compiled?.dispose();
    this.#compiled = undefined;
  }
}

/**
 * Replaces `model.backbone` with its compiled form (eval-mode calls run in one ONNX Runtime session)
 * and returns the model. State-dict keys stay the same.
 * @example
 * const model = compileBackbone(getModel('fasterrcnn_mobilenet_v3_large_fpn').eval());
 * const [detection] = model.call([rand([3, 320, 320])]);
 */
export function compileBackbone<M extends Module & { backbone: Module }>(
  model: M,
  options: Omit<CompileOptions, 'mode'> = {},
): M {
  if (!(model.backbone instanceof CompiledBackbone)) model.backbone = new CompiledBackbone(model.backbone, options);
  return model;
}
