/**
 * A detection model with its fixed-graph parts compiled, each to one ONNX Runtime session, and its
 * data-dependent steps left eager: the backbone + FPN (most of the arithmetic), the RPN head's
 * convolutions (one session for every level), the box head and the mask head and predictor. The
 * anchors, proposal selection, RoIAlign pooling, NMS and mask pasting decide shapes from values
 * and stay eager. Beyond torchvision.
 */
import { type CompileOptions, type CompiledModule, compile } from '../../fx/compile.js';
import { Module, setOwnField } from '../../nn/module.js';
import type { Tensor } from '../../tensor/tensor.js';
import { CompiledInEval } from './compiled-in-eval.js';
import { RPNHead } from './rpn.js';

type Options = Omit<CompileOptions, 'mode'>;

/** A backbone compiled in eval mode; `outChannels` as the detection models read it. */
export class CompiledBackbone extends CompiledInEval<[Tensor], Record<string, Tensor>> {
  readonly outChannels: number;

  constructor(backbone: Module, options: Options = {}) {
    const { outChannels } = backbone as Module & { outChannels?: unknown };
    if (typeof outChannels !== 'number')
      throw new TypeError(
        `[CompiledBackbone] ${backbone.className} has no outChannels: it is not a detection backbone`,
      );
    super(backbone as Module<[Tensor], Record<string, Tensor>>, options);
    this.outChannels = outChannels;
  }
}

/** One level of an RPNHead (its convolution, then both predictions): a graph compile can trace. */
class RPNHeadLevel extends Module<[Tensor], [Tensor, Tensor]> {
  declare conv: Module<[Tensor], Tensor>;
  declare cls_logits: Module<[Tensor], Tensor>;
  declare bbox_pred: Module<[Tensor], Tensor>;

  constructor(head: RPNHead) {
    super();
    for (const name of ['conv', 'cls_logits', 'bbox_pred'] as const) setOwnField(this, name, head[name]);
  }

  forward(feature: Tensor): [Tensor, Tensor] {
    const t = this.conv.call(feature);
    return [this.cls_logits.call(t), this.bbox_pred.call(t)];
  }
}

/** An RPNHead whose levels run through one compiled session in eval mode, eagerly in train mode. */
export class CompiledRPNHead extends Module<[Tensor[]], [Tensor[], Tensor[]]> {
  readonly #eager: RPNHead;
  readonly #options: Options;
  #level: CompiledModule | undefined;

  constructor(head: RPNHead, options: Options = {}) {
    super();
    for (const [name, child] of head.namedChildren()) setOwnField(this, name, child);
    this.#eager = head;
    this.#options = options;
    this.train(head.training);
  }

  forward(features: Tensor[]): [Tensor[], Tensor[]] {
    if (this.training) return this.#eager.call(features);
    // Built at the first eval call, when the children are in eval mode, which compile restores.
    this.#level ??= compile(new RPNHeadLevel(this.#eager).eval(), { ...this.#options, mode: 'eval' });
    const outputs = features.map((f) => this.#level!.call(f) as [Tensor, Tensor]);
    return [outputs.map(([logits]) => logits), outputs.map(([, deltas]) => deltas)];
  }
}

/**
 * Replaces `model.backbone` with its compiled form (eval-mode calls run in one ONNX Runtime
 * session) and returns the model. State-dict keys stay the same; load weights first.
 * @example
 * const model = compileBackbone(getModel('fasterrcnn_mobilenet_v3_large_fpn').eval() as FasterRCNN);
 * model.call([rand([3, 240, 320])]); // Detection[], the backbone run by ONNX Runtime
 */
export function compileBackbone<M extends Module & { backbone: Module }>(model: M, options: Options = {}): M {
  if (!(model.backbone instanceof CompiledBackbone)) model.backbone = new CompiledBackbone(model.backbone, options);
  return model;
}

interface DetectorParts {
  backbone: Module;
  rpn: { head: Module };
  roi_heads: { box_head: Module; mask_head: Module | null; mask_predictor: Module | null };
}

/**
 * Compiles every fixed-graph part of a Faster/Mask R-CNN (`compileBackbone`, and the RPN head, the
 * box head, the mask head and predictor) and returns the model; the data-dependent steps stay
 * eager. State-dict keys stay the same; load weights first.
 * @example
 * const model = compileDetector(getModel('fasterrcnn_mobilenet_v3_large_fpn').eval() as FasterRCNN);
 * model.call([rand([3, 240, 320]), rand([3, 320, 200])]); // Detection[], one per image
 */
export function compileDetector<M extends Module & DetectorParts>(model: M, options: Options = {}): M {
  compileBackbone(model, options);
  if (model.rpn.head instanceof RPNHead) model.rpn.head = new CompiledRPNHead(model.rpn.head, options);
  const heads = model.roi_heads;
  const inEval = (m: Module): Module =>
    m instanceof CompiledInEval ? m : new CompiledInEval(m as Module<[Tensor], Tensor>, options);
  heads.box_head = inEval(heads.box_head);
  if (heads.mask_head !== null) heads.mask_head = inEval(heads.mask_head);
  if (heads.mask_predictor !== null) heads.mask_predictor = inEval(heads.mask_predictor);
  return model;
}
