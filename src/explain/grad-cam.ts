/**
 * Grad-CAM (Selvaraju et al., 2017): where in the image a classifier looked for a class. The
 * activations of a node (`layer4`) are weighted by the spatial mean of the class score's gradient
 * with respect to them, summed over channels, rectified, resized to the image and scaled to [0, 1].
 *
 * The same two functions (`targetScore`, `camFrom`) make the map eagerly (`gradCam`, through
 * autograd) and inside one ONNX graph with the gradient computed symbolically (`exportGradCam`,
 * `compileGradCam`), which onnxruntime-web runs in a browser.
 */
import { writeFileSync } from 'node:fs';
import { grad } from '../autograd/engine.js';
import { enableGrad, noGrad } from '../autograd/grad-mode.js';
import { createFeatureExtractor } from '../featureExtraction/create-feature-extractor.js';
import { getGraphNodeNames } from '../featureExtraction/get-graph-node-names.js';
import { differentiate, lowerOps } from '../fx/autodiff.js';
import type { GraphModule } from '../fx/graph-module.js';
import { lowerOpen } from '../fx/onnx-export.js';
import { Module } from '../nn/module.js';
import * as F from '../ops/functional.js';
import type { Value } from '../ops/lowering.js';
import { NativeSession } from '../runtime/native-session.js';
import { encodeModel } from '../runtime/onnx-model.js';
import { SessionLru } from '../runtime/session-lru.js';
import { getNumThreads } from '../runtime/threads.js';
import { arange, tensor } from '../tensor/creation.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

export interface GradCamOptions {
  /** The node whose activations make the map, by its torchvision name (`layer4`, `features.28`). */
  node: string;
  /** The node holding the class scores (default: the model's last node, e.g. `fc`). */
  outputNode?: string;
}

export interface GradCamResult {
  /** One map per image, [N, H, W] at the input's size, scaled to [0, 1] per image. */
  cam: Tensor;
  /** The class each map explains (the one asked for, or the top-scoring one). */
  target: number[];
  /** The model's class scores, [N, classes]. */
  logits: Tensor;
}

const FEATURES = 'features';
const LOGITS = 'logits';

/** Each image's score for its target class, summed over the batch (so one backward serves all). */
function targetScore(logits: Tensor, target: Tensor): Tensor {
  const oneHot = F.eq(F.unsqueeze(target, 1), arange(logits.shape[1]!)).to(logits.dtype);
  return F.sum(F.mul(logits, oneHot));
}

/** The Grad-CAM map from a node's activations and the score's gradient with respect to them. */
function camFrom(features: Tensor, gradients: Tensor, size: readonly [number, number]): Tensor {
  const weights = F.mean(gradients, [2, 3], true);
  const cam = F.relu(F.sum(F.mul(weights, features), [1], true));
  const resized = F.interpolate(cam, { size, mode: 'bilinear' });
  const low = F.neg(F.amax(F.neg(resized), [2, 3], true));
  const range = F.sub(F.amax(resized, [2, 3], true), low);
  const scaled = F.div(F.sub(resized, low), F.add(range, 1e-8));
  return F.reshape(scaled, [resized.shape[0]!, size[0], size[1]]);
}

function checkOptions(model: unknown, options: unknown): asserts options is GradCamOptions {
  if (!(model instanceof Module)) throw new TypeError('[gradCam] model must be a featurefx Module (a classifier)');
  const node = (options as GradCamOptions | undefined)?.node;
  if (typeof node !== 'string' || node === '') {
    throw new TypeError("[gradCam] options.node must name a node, e.g. { node: 'layer4' }");
  }
}

const extractors = new WeakMap<Module, Map<string, GraphModule>>();

/** An extractor of the node and the scores, made once per model and node pair. */
function extractorFor(model: Module, options: GradCamOptions): GraphModule {
  const outputNode = options.outputNode ?? getGraphNodeNames(model)[1].at(-1)!;
  const key = `${options.node}\u0000${outputNode}`;
  let byNode = extractors.get(model);
  if (byNode === undefined) extractors.set(model, (byNode = new Map()));
  let extractor = byNode.get(key);
  if (extractor === undefined) {
    if (outputNode === options.node) {
      throw new RangeError(`[gradCam] node '${options.node}' is the class scores themselves; choose a feature map`);
    }
    extractor = createFeatureExtractor(model, { returnNodes: { [options.node]: FEATURES, [outputNode]: LOGITS } });
    byNode.set(key, extractor);
  }
  return extractor;
}

function checkInput(input: unknown, api: string): asserts input is Tensor {
  if (!(input instanceof Tensor) || input.ndim !== 4) {
    const got = input instanceof Tensor ? `shape ${formatShape(input.shape)}` : String(input);
    throw new TypeError(`[${api}] input must be an image batch [N, C, H, W], got ${got}`);
  }
}

/** Targets as an int64 [N] tensor: given for all, per image, or -1 for the top class. */
function targetTensor(target: number | readonly number[] | undefined, batch: number, api: string): Tensor {
  const list =
    target === undefined
      ? Array<number>(batch).fill(-1)
      : typeof target === 'number'
        ? Array<number>(batch).fill(target)
        : [...target];
  if (list.length !== batch || !list.every(Number.isInteger)) {
    throw new RangeError(
      `[${api}] target must be a class index or one per image (${batch}), got ${JSON.stringify(target)}`,
    );
  }
  return tensor(list, { dtype: 'int64' });
}

function checkClasses(target: readonly number[], classes: number, api: string): void {
  const bad = target.find((t) => t >= classes || t < -1);
  if (bad !== undefined) throw new RangeError(`[${api}] target class ${bad} is out of range for ${classes} classes`);
}

/**
 * The Grad-CAM map of each image for `target` (default: the top-scoring class), computed eagerly
 * with autograd. Put the model in eval mode first, as for any inference.
 * @example
 * const model = resnet18().eval();
 * const { cam, target } = gradCam(model, rand([1, 3, 64, 64]), { node: 'layer4' });
 * // cam: [1, 64, 64], values in [0, 1]; target: [the top class]
 */
export function gradCam(
  model: Module,
  input: Tensor,
  options: GradCamOptions & { target?: number | readonly number[] },
): GradCamResult {
  checkOptions(model, options);
  checkInput(input, 'gradCam');
  const extractor = extractorFor(model, options);
  const x = input.detach().requiresGrad_();
  const out = enableGrad(() => extractor.call(x)) as Record<string, Tensor>;
  const features = out[FEATURES]!;
  const logits = out[LOGITS]!;
  const asked = targetTensor(options.target, input.shape[0]!, 'gradCam');
  checkClasses(Array.from(asked.data as BigInt64Array, Number), logits.shape[1]!, 'gradCam');
  const target = noGrad(() => F.where(F.lt(asked, 0), F.argmax(logits, 1), asked));
  const [gradients] = grad(targetScore(logits, target), [features]);
  const cam = noGrad(() => camFrom(features.detach(), gradients!, [input.shape[2]!, input.shape[3]!]));
  return { cam, target: Array.from(target.data as BigInt64Array, Number), logits: logits.detach() };
}

export interface ExportGradCamOptions extends GradCamOptions {
  /** [N, C, H, W] of the images the model will take. */
  inputShape: readonly number[];
  /** Write the model here as well as returning its bytes. */
  path?: string;
}

/**
 * Grad-CAM as one ONNX model: inputs the images (float32 [N, C, H, W]) and `target` (int64 [N],
 * -1 for the top class); outputs `cam` ([N, H, W]), `logits` and `target`. The gradient is part of
 * the graph, written by each op's backward rule, so any ONNX runtime (onnxruntime-web in a
 * browser) computes the map in one run.
 * @example
 * const bytes = exportGradCam(resnet18().eval(), { node: 'layer4', inputShape: [1, 3, 224, 224] });
 */
export function exportGradCam(model: Module, options: ExportGradCamOptions): Uint8Array {
  const { bytes } = gradCamModel(model, options);
  if (options.path !== undefined) writeFileSync(options.path, bytes);
  return bytes;
}

/** The Grad-CAM ONNX model's bytes, and how many classes its scores have (to check targets). */
function gradCamModel(model: Module, options: ExportGradCamOptions): { bytes: Uint8Array; classes: number } {
  checkOptions(model, options);
  const shape = options.inputShape;
  if (!Array.isArray(shape) || shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new TypeError(`[exportGradCam] inputShape must be [N, C, H, W], got ${JSON.stringify(shape)}`);
  }
  const extractor = extractorFor(model, options);
  const wasTraining = extractor.training;
  extractor.eval();
  let open;
  try {
    open = lowerOpen(extractor, extractor.graph, [shape], { withTape: true });
  } finally {
    extractor.train(wasTraining);
  }
  const { builder } = open;
  const result = open.result as Record<string, Value>;
  const tape = [...open.tape];
  const targetInput = builder.addInput('target', 'int64', [shape[0]!]);
  const [chosen, score] = lowerOps(
    builder,
    [result[LOGITS]!, targetInput],
    (logits, asked) => {
      const target = F.where(F.lt(asked, 0), F.argmax(logits, 1), asked);
      return [target, targetScore(logits, target)];
    },
    tape,
  );
  const [gradients] = differentiate(builder, tape, score!, [result[FEATURES]!]);
  const [cam] = lowerOps(builder, [result[FEATURES]!, gradients!], (f, g) => [camFrom(f, g, [shape[2]!, shape[3]!])]);
  const outputs = [
    { name: builder.rename(cam!.name, 'cam'), dtype: 'float32' as const },
    { name: builder.rename(result[LOGITS]!.name, 'logits'), dtype: result[LOGITS]!.dtype },
    { name: builder.rename(chosen!.name, 'target_class'), dtype: 'int64' as const },
  ];
  return { bytes: encodeModel(builder.finish('GradCam', outputs)), classes: result[LOGITS]!.shape[1] as number };
}

/** Grad-CAM run by ONNX Runtime: one session per input shape, forward and backward in one run. */
export class CompiledGradCam {
  private readonly sessions = new SessionLru<{ session: NativeSession; classes: number; dispose(): void }>(4);

  constructor(
    readonly model: Module,
    readonly options: GradCamOptions & { numThreads?: number },
  ) {
    checkOptions(model, options);
  }

  call(input: Tensor, target?: number | readonly number[]): GradCamResult {
    checkInput(input, 'compileGradCam');
    const key = input.shape.join('x');
    let entry = this.sessions.get(key);
    if (entry === undefined) {
      const { bytes, classes } = gradCamModel(this.model, { ...this.options, inputShape: input.shape });
      const session = new NativeSession(bytes, {
        intraOpNumThreads: this.options.numThreads ?? getNumThreads(),
        graphOptimizationLevel: 'all',
      });
      entry = { session, classes, dispose: () => session.dispose() };
      this.sessions.add(key, entry);
    }
    const asked = targetTensor(target, input.shape[0]!, 'compileGradCam');
    checkClasses(Array.from(asked.data as BigInt64Array, Number), entry.classes, 'compileGradCam');
    const [cam, logits, chosen] = entry.session.run([
      { type: 'float32', dims: input.shape, data: input.data },
      { type: 'int64', dims: asked.shape, data: asked.data },
    ]);
    return {
      cam: new Tensor('float32', cam!.dims, cam!.data as Float32Array),
      target: Array.from(chosen!.data as BigInt64Array, Number),
      logits: new Tensor('float32', logits!.dims, logits!.data as Float32Array),
    };
  }

  dispose(): void {
    this.sessions.clear();
  }
}

/**
 * Grad-CAM compiled to ONNX Runtime (see `exportGradCam`): faster than `gradCam` for repeated use.
 * @example
 * const cams = compileGradCam(resnet18().eval(), { node: 'layer4' });
 * const { cam } = cams.call(rand([2, 3, 64, 64]), [281, 285]);
 */
export function compileGradCam(model: Module, options: GradCamOptions & { numThreads?: number }): CompiledGradCam {
  return new CompiledGradCam(model, options);
}
