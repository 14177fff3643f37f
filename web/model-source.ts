/**
 * Where the page's models come from: the zoo and the files `featurefx serve` lists (`api/models`,
 * absent on a static host), or a file the user picks or drops, read in the page and never sent
 * anywhere. Each is decoded and named by featurefx's browser-safe ONNX files.
 */
import { OnnxFormatError } from '../src/errors.js';
import type { ModelProto } from '../src/onnx/model-proto.js';
import { nameOnnxNodes, type OnnxNamedNode } from '../src/onnx/node-names.js';
import { decodeOnnxModel } from '../src/onnx/read-model.js';
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  type ClassificationPreset,
  presetForInputShape,
} from '../src/preprocess/image-classification.js';

/** torchvision's ImageClassification preset with its mean and std spelt out, as the page shows and edits it. */
export type Preset = ClassificationPreset & { mean: readonly number[]; std: readonly number[] };

/** A zoo classifier as `GET api/models` lists it. */
export interface ZooModel {
  name: string;
  weights: string;
  preset: Preset;
}

/** An ONNX file named on `featurefx serve`'s command line. */
export interface ServedFile {
  name: string;
  url: string;
}

export interface ModelList {
  zoo: ZooModel[];
  files: ServedFile[];
}

/** A model the page has decoded: its graph, its nodes by featurefx's names, and how images are fed to it. */
export interface LoadedModel {
  name: string;
  /** The zoo entry, for zoo models (Grad-CAM is exported by the server for those only). */
  zoo?: ZooModel;
  /** 'random', a weights file's name, or 'from the file'. */
  weights: string;
  proto: ModelProto;
  nodes: OnnxNamedNode[];
  /** The image input's name and shape as the file declares it (strings for named dimensions). */
  input: { name: string; shape: (number | string)[] };
  preset: Preset;
}

/** The served models, or undefined when the page is hosted without featurefx's server. */
export async function listServedModels(): Promise<ModelList | undefined> {
  let response: Response;
  try {
    response = await fetch('api/models');
  } catch {
    return undefined;
  }
  if (!response.ok || !(response.headers.get('content-type') ?? '').includes('json')) return undefined;
  return (await response.json()) as ModelList;
}

/** The bytes at `url`, or an Error with the server's readable message (`{ error }`) for a failed request. */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) {
    const text = await response.text();
    let message = `${url}: HTTP ${response.status} ${response.statusText}`;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? message;
    } catch {
      // Not featurefx's JSON: the status line says what happened.
    }
    throw new Error(message);
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** A zoo model exported by the server (`api/zoo/<name>.onnx`). */
export async function loadZooModel(zoo: ZooModel): Promise<LoadedModel> {
  const bytes = await fetchBytes(`api/zoo/${encodeURIComponent(zoo.name)}.onnx`);
  return decode(zoo.name, bytes, zoo.weights, zoo.preset, zoo);
}

/**
 * An ONNX file's bytes (picked, dropped, or served): its image preset comes from the input's fixed
 * height (crop = H, resize = round(crop * 256 / 224), bilinear, ImageNet's mean and std).
 *
 * @throws Error "<name> is not an ONNX model: <OnnxFormatError message>" for bytes that are not one.
 */
export function loadModelFile(name: string, bytes: Uint8Array): LoadedModel {
  return decode(name, bytes, 'from the file', undefined, undefined);
}

function decode(
  name: string,
  bytes: Uint8Array,
  weights: string,
  preset: Preset | undefined,
  zoo: ZooModel | undefined,
): LoadedModel {
  let proto: ModelProto;
  try {
    proto = decodeOnnxModel(bytes, { source: name });
  } catch (error) {
    if (error instanceof OnnxFormatError) {
      throw new Error(`${name} is not an ONNX model: ${error.message}`, { cause: error });
    }
    throw error;
  }
  const nodes = nameOnnxNodes(proto);
  const first = nodes.find((n) => n.kind === 'Input');
  if (first === undefined) throw new Error(`${name} has no input to feed an image to: its graph reads only weights`);
  const input = { name: first.output, shape: first.shape ?? [] };
  const [, channels] = input.shape;
  // The page feeds RGB images; a file declaring another input says so now rather than when it is run.
  if (input.shape.length !== 0 && (input.shape.length !== 4 || (typeof channels === 'number' && channels !== 3))) {
    throw new Error(
      `${name} takes '${input.name}' of shape [${input.shape.join(', ')}]; the page feeds it an RGB image ` +
        '[N, 3, H, W]: open an image model, or export yours with such an input',
    );
  }
  const loaded: LoadedModel = {
    name,
    weights,
    proto,
    nodes,
    input,
    preset: preset ?? {
      ...presetForInputShape(input.shape, name, 'the page'),
      mean: [...IMAGENET_MEAN],
      std: [...IMAGENET_STD],
    },
  };
  if (zoo !== undefined) loaded.zoo = zoo;
  return loaded;
}

/** Whether the model's input has a fixed spatial size (then the crop must be that size). */
export function fixedInputSize(model: LoadedModel): number | undefined {
  const [, , height, width] = model.input.shape;
  return typeof height === 'number' && height > 0 && height === width ? height : undefined;
}
