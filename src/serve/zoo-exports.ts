/**
 * The zoo's classifiers as the page gets them: the whole model, and its Grad-CAM model for a node,
 * exported by featurefx on first request and kept in a byte-bounded LRU. Model names are only
 * looked up in the registry, node names only given to `exportGradCam`: neither reaches a path.
 */
import { basename } from 'node:path';
import { FeatureExtractionError } from '../errors.js';
import { exportGradCam } from '../explain/grad-cam.js';
import { exportOnnx } from '../fx/onnx-export.js';
import { listModels } from '../models/index.js';
import type { Module } from '../nn/module.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../preprocess/image-classification.js';
import { manualSeed } from '../tensor/generator.js';
import { classifierEntry, loadModel } from '../cli/model-setup.js';
import { PromiseLru } from '../runtime/promise-lru.js';
import { RequestError } from './request-error.js';

/** A zoo model as `GET /api/models` lists it. */
export interface ZooModel {
  name: string;
  /** 'random', or the basename of the weights file given with `--weights NAME=FILE`. */
  weights: string;
  preset: {
    resizeSize: number;
    cropSize: number;
    interpolation: 'bilinear' | 'bicubic';
    mean: number[];
    std: number[];
  };
}

export class ZooExports {
  readonly #cache: PromiseLru<Uint8Array>;
  /** The last model built: Grad-CAM of several nodes, and the export before them, share it. */
  #built: { name: string; model: Module } | undefined;
  #exports = 0;

  /** `weights`: model name -> weights file. */
  constructor(
    readonly weights: ReadonlyMap<string, string>,
    maxBytes: number,
  ) {
    this.#cache = new PromiseLru(maxBytes, (bytes) => bytes.byteLength);
  }

  /** How many models have been exported (cache misses). */
  get exportCount(): number {
    return this.#exports;
  }

  /** The classifiers of the registry, in its order. */
  list(): ZooModel[] {
    return listModels({ task: 'classification' }).map((name) => {
      const t = classifierEntry(name).transform;
      const file = this.weights.get(name);
      return {
        name,
        weights: file === undefined ? 'random' : basename(file),
        preset: {
          resizeSize: t.resizeSize,
          cropSize: t.cropSize,
          interpolation: t.interpolation,
          mean: [...(t.mean ?? IMAGENET_MEAN)],
          std: [...(t.std ?? IMAGENET_STD)],
        },
      };
    });
  }

  /** The whole model in eval mode, for [1, 3, crop, crop] (batch dynamic). */
  model(name: string): Promise<Uint8Array> {
    const crop = cropSize(name);
    return this.#cache.get(`model\u0000${name}`, async () => {
      this.#exports++;
      return exportOnnx(this.#build(name), { inputShape: [1, 3, crop, crop] });
    });
  }

  /** The Grad-CAM model of `node` (inputs `x` and `target`; outputs `cam`, `logits`, `target_class`). */
  gradCam(name: string, node: string): Promise<Uint8Array> {
    const crop = cropSize(name);
    return this.#cache.get(`gradcam\u0000${name}\u0000${node}`, async () => {
      this.#exports++;
      try {
        return exportGradCam(this.#build(name), { node, inputShape: [1, 3, crop, crop] });
      } catch (e) {
        // An unknown node or the scores themselves: the page asked for a wrong node (server.ts refuses an
        // empty name before); any other error is featurefx's and stays a 500.
        if (e instanceof FeatureExtractionError || e instanceof RangeError) throw new RequestError(400, e.message);
        throw e;
      }
    });
  }

  #build(name: string): Module {
    if (this.#built?.name !== name) {
      this.#built = undefined;
      // Random weights come from one seed, so a model's export and its Grad-CAM models hold the same
      // weights even when the model was built again in between.
      manualSeed(0);
      this.#built = { name, model: loadModel(name, this.weights.get(name), `--weights ${name}=FILE`).model };
    }
    return this.#built.model;
  }
}

/** The crop size of a classifier of the registry; 404 for an unknown name or a detection model. */
function cropSize(name: string): number {
  try {
    return classifierEntry(name).transform.cropSize;
  } catch (e) {
    throw new RequestError(404, (e as Error).message);
  }
}
