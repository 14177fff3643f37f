/**
 * `featurefx detect`: a detection model (Faster/Mask R-CNN) over images, a few at a time, each
 * image at its own size; for each, `<stem>.json` (the detections scoring above --score, in the
 * image's pixels, masks as COCO RLE) and `<stem>.png` (the image with them drawn). The fixed-graph
 * parts (backbone + FPN, RPN head, box and mask heads) run compiled, the data-dependent steps eagerly.
 */
import { resolve } from 'node:path';
import { noGrad } from '../autograd/grad-mode.js';
import { loadWeights } from '../io/weights.js';
import { COCO_CATEGORIES } from '../models/detection/coco-categories.js';
import { frozenBatchNorm, replaceBatchNorm } from '../models/detection/backbone-utils.js';
import { compileDetector } from '../models/detection/compiled-backbone.js';
import { GeneralizedRCNN } from '../models/detection/generalized-rcnn.js';
import type { Detection } from '../models/detection/types.js';
import { getModel, getModelEntry, listModels } from '../models/index.js';
import { skipInit } from '../nn/init.js';
import type { Tensor } from '../tensor/tensor.js';
import * as F from '../ops/functional.js';
import { fromData } from '../tensor/creation.js';
import { drawDetections } from './detection-drawing.js';
import { DetectionFolder, checkOutFolder, outputStems } from './detection-folder.js';
import { detectionRecord } from './detection-record.js';
import { IMAGE_EXTENSIONS, readRgb } from './images.js';
import { walkInputs } from './input-walk.js';

export interface DetectOptions {
  weights?: string;
  /** Keep detections scoring above this (the model's boxScoreThresh). */
  score: number;
  /** Images per model call. */
  batch: number;
  minSize?: number;
  maxSize?: number;
  numClasses?: number;
  maxDetections?: number;
  /** Run the fixed-graph parts compiled (default) or eagerly. */
  compile: boolean;
  out: string;
}

const detectionModels = (): string[] => listModels().filter((n) => getModelEntry(n).task === 'detection');

/**
 * The model, in eval mode, with the builder options the command sets. A COCO checkpoint goes through
 * the builder's `weights`, as torchvision's (FrozenBatchNorm2d, its eps); a checkpoint for
 * another number of classes (fine-tuned) is loaded strictly into the model built for it, its
 * backbone's BatchNorm2d frozen as fine-tuning from COCO or ImageNet weights has it.
 */
function loadDetector(name: string, options: DetectOptions): GeneralizedRCNN {
  const entry = getModelEntry(name);
  if (entry.task !== 'detection') {
    throw new RangeError(
      `${name} is a classification model; detect runs detection models (${detectionModels().join(', ')}). ` +
        `For a classifier's features, use \`featurefx extract ${name}\``,
    );
  }
  const buildOptions = {
    // torchvision's threshold (default 0.05): detections scoring above it are kept.
    boxScoreThresh: options.score,
    ...(options.minSize === undefined ? {} : { minSize: options.minSize }),
    ...(options.maxSize === undefined ? {} : { maxSize: options.maxSize }),
    ...(options.maxDetections === undefined ? {} : { boxDetectionsPerImg: options.maxDetections }),
  };
  const numClasses = options.numClasses ?? COCO_CATEGORIES.length;
  let model;
  if (options.weights === undefined) {
    process.stderr.write(`featurefx: ${name} has random weights (pass --weights FILE to load a checkpoint)\n`);
    model = getModel(name, { ...buildOptions, numClasses });
  } else if (numClasses === COCO_CATEGORIES.length) {
    model = getModel(name, { ...buildOptions, weights: withClassHint(loadWeights(options.weights)) });
  } else {
    const weights = loadWeights(options.weights);
    // Strict loading replaces every tensor, so drawing random ones first would be wasted time.
    model = skipInit(() => getModel(name, { ...buildOptions, numClasses }));
    replaceBatchNorm((model as GeneralizedRCNN).backbone, frozenBatchNorm);
    model.loadStateDict(weights, { assign: true });
  }
  if (!(model instanceof GeneralizedRCNN))
    throw new TypeError(`${name} is registered as a detection model but builds a ${model.className}`);
  model.eval();
  return options.compile ? compileDetector(model) : model;
}

/** Says, when a checkpoint's predictor is not COCO's 91 classes, which option loads it. */
function withClassHint(weights: Map<string, Tensor>): Map<string, Tensor> {
  const classes = weights.get('roi_heads.box_predictor.cls_score.weight')?.shape[0];
  if (classes !== undefined && classes !== COCO_CATEGORIES.length) {
    throw new RangeError(
      `the checkpoint's box predictor has ${classes} classes (background included), not COCO's ` +
        `${COCO_CATEGORIES.length}: pass --num-classes ${classes}`,
    );
  }
  return weights;
}

export async function detect(modelName: string, inputs: string[], options: DetectOptions): Promise<void> {
  // Everything that can be refused from the arguments alone is, before the model is built.
  getModelEntry(modelName);
  const walk = walkInputs(inputs);
  for (const { path, reason } of walk.skipped) process.stderr.write(`featurefx: skipping ${path}: ${reason}\n`);
  if (walk.files.length === 0)
    throw new Error(`no images found in ${inputs.join(', ')}; image files end in ${[...IMAGE_EXTENSIONS].join(', ')}`);
  const stems = outputStems(walk.files);
  checkOutFolder(options.out, stems.values());
  const model = loadDetector(modelName, options);
  // The zoo's detectors are built for COCO's 91 labels unless --num-classes says otherwise.
  const coco = (options.numClasses ?? COCO_CATEGORIES.length) === COCO_CATEGORIES.length;
  const names = (label: number): string => (coco ? COCO_CATEGORIES[label]! : `class ${label}`);
  const folder = DetectionFolder.open(options.out, stems.values());
  try {
    let done = 0;
    for (let start = 0; start < walk.files.length; start += options.batch) {
      const paths = walk.files.slice(start, start + options.batch);
      const decoded = await Promise.all(
        paths.map((path) =>
          readRgb(path).catch((e: unknown) => {
            process.stderr.write(`featurefx: skipping ${path}: ${e instanceof Error ? e.message : String(e)}\n`);
            return undefined;
          }),
        ),
      );
      const images = decoded.flatMap((d, i) => (d === undefined ? [] : [{ ...d, path: paths[i]! }]));
      const tensors = images.map(({ rgb, width, height }) =>
        F.div(F.permute(F.to(fromData('uint8', [height, width, 3], rgb), 'float32'), [2, 0, 1]), 255),
      );
      const detections = images.length === 0 ? [] : (noGrad(() => model.call(tensors)) as Detection[]);
      for (const [i, image] of images.entries()) {
        const kept = detections[i]!;
        const about = { ...image, image: resolve(image.path), model: modelName, scoreThreshold: options.score };
        const record = detectionRecord(kept, about, names);
        const drawn = record.boxes.map((box, k) => ({
          box,
          label: record.labels[k]!,
          caption: `${record.label_names[k]} ${record.scores[k]!.toFixed(2)}`,
        }));
        folder.write(stems.get(image.path)!, await drawDetections(image, drawn, kept.masks), JSON.stringify(record));
      }
      done += paths.length;
      process.stderr.write(`featurefx: detected in ${done}/${walk.files.length} images\n`);
    }
  } finally {
    folder.close();
  }
  process.stderr.write(`featurefx: wrote <image>.json and <image>.png for each image in ${options.out}\n`);
}
