/**
 * The model registry, under torchvision's names: `registerModel`, `getModel`, `listModels`, as
 * `torchvision.models.get_model` and `list_models`.
 */
import type { Module } from '../nn/module.js';

export interface ModelOptions {
  /** Output classes of the classifier (default 1000). */
  numClasses?: number;
}

/** torchvision's ImageClassification preset: resize, centre crop, then ImageNet normalisation. */
export interface ClassificationTransform {
  resizeSize: number;
  cropSize: number;
  interpolation: 'bilinear' | 'bicubic';
  /** `Normalize`'s per-channel mean and std where the weights' differ from ImageNet's. */
  mean?: readonly number[];
  std?: readonly number[];
}

/** torchvision's ObjectDetection preset: only the image as float in [0, 1]; the model resizes and normalises. */
export interface ObjectDetectionTransform {
  kind: 'objectDetection';
}

interface ModelEntryBase {
  name: string;
  /** The builder; options are the family's, in camelCase. */
  build: (options?: ModelOptions & Record<string, unknown>) => Module;
  /** The family's options besides `numClasses`, as the builder takes them (camelCase). */
  options: readonly string[];
  /**
   * Options torchvision's builder sets when it loads its published weights (GoogLeNet and
   * Inception v3 turn on `transformInput`); the command applies them with `--weights`.
   */
  checkpointOptions?: Record<string, unknown>;
}

/** A classifier: `call(batch)` gives logits, and its forward can be traced (the default task). */
export interface ClassificationModelEntry extends ModelEntryBase {
  task?: 'classification';
  /** torchvision's preset transform for the weights it publishes. */
  transform: ClassificationTransform;
}

/**
 * A detector (torchvision.models.detection): `call(images)` takes a list of images and runs
 * eagerly, data-dependent, so it is not traced, catalogued, nor served by the classifier commands.
 */
export interface DetectionModelEntry extends ModelEntryBase {
  task: 'detection';
  transform: ObjectDetectionTransform;
}

export type ModelEntry = ClassificationModelEntry | DetectionModelEntry;
export type ModelTask = NonNullable<ModelEntry['task']>;

const models = new Map<string, ModelEntry>();

export function registerModel(entry: ModelEntry): void {
  if (models.has(entry.name)) throw new Error(`model '${entry.name}' is registered twice`);
  models.set(entry.name, entry);
}

/**
 * Names of the registered models, sorted: all of them, or those of one task (as torchvision's
 * `list_models(module=torchvision.models.detection)`).
 * @example
 * listModels({ task: 'detection' }); // ['fasterrcnn_mobilenet_v3_large_fpn', ...]
 */
export function listModels(filter: { task?: ModelTask } = {}): string[] {
  return [...models.values()]
    .filter((entry) => filter.task === undefined || (entry.task ?? 'classification') === filter.task)
    .map((entry) => entry.name)
    .sort();
}

export function getModelEntry(name: string): ModelEntry {
  const entry = models.get(name);
  if (entry === undefined) {
    const close = listModels()
      .map((n) => [n, similarity(name, n)] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([n]) => n);
    throw new RangeError(
      `unknown model '${name}'. Closest: ${close.join(', ')}. See listModels() for all ${models.size}.`,
    );
  }
  return entry;
}

/**
 * A new model by torchvision's name, with random weights (load a checkpoint with `loadStateDict`).
 * @example
 * const model = getModel('resnet50', { numClasses: 10 });
 */
export function getModel(name: string, options: ModelOptions & Record<string, unknown> = {}): Module {
  const entry = getModelEntry(name);
  const known = ['numClasses', ...entry.options];
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    // Python habits (num_classes) would otherwise be ignored silently.
    const camel = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = camel !== key && known.includes(camel) ? ` (featurefx spells it '${camel}')` : '';
    throw new RangeError(`[getModel] ${name} has no option '${key}'${hint}; its options: ${known.join(', ')}`);
  }
  const { numClasses } = options;
  if (numClasses !== undefined && !(Number.isInteger(numClasses) && numClasses > 0)) {
    throw new RangeError(`[getModel] numClasses must be a positive integer, got ${String(numClasses)}`);
  }
  return entry.build(options);
}

/** Shared character bigrams, enough to rank names like 'resnet5' near 'resnet50'. */
function similarity(a: string, b: string): number {
  const grams = (s: string): Set<string> =>
    new Set(Array.from({ length: Math.max(0, s.length - 1) }, (_, i) => s.slice(i, i + 2)));
  const ga = grams(a.toLowerCase());
  const gb = grams(b.toLowerCase());
  let shared = 0;
  for (const g of ga) if (gb.has(g)) shared++;
  return (2 * shared) / Math.max(1, ga.size + gb.size);
}
