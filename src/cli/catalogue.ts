/**
 * The node catalogue: every zoo model's node names, kinds, shapes, channels and strides, made once
 * at build time (scripts/make-catalogue.ts writes dist/catalogue.json) and shipped with the
 * package, so that tools can pick feature points without building a model
 * (`featurefx nodes --catalogue`). Shapes come from shape propagation and `featureInfo`: no
 * convolution runs and no weight is drawn.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { featureInfo } from '../featureExtraction/feature-info.js';
import { NodePathTracer, withDefaultLeaves } from '../featureExtraction/node-path-tracer.js';
import { GraphModule } from '../fx/graph-module.js';
import type { Node, Opcode } from '../fx/node.js';
import { ShapeProp } from '../fx/passes/shape-prop.js';
import { getModel } from '../models/index.js';
import { skipInit } from '../nn/init.js';

export interface CatalogueNode {
  name: string;
  kind: Opcode;
  /** Present for nodes whose output is a tensor (not for sizes, tuples, ...). */
  shape?: number[];
  /** How the output's axes are laid out (NCHW, NHWC, NLC tokens, NC), as `featureInfo`'s `layout`. */
  layout?: string;
  /** The output's channels, as `featureInfo`'s `channels`. */
  channels?: number;
  /** Input width over output width (maps and tokens), as `featureInfo`'s `reduction`. */
  reduction?: number;
}

export interface CatalogueEntry {
  /** The input the shapes are for. */
  inputShape: number[];
  /** The eval-mode graph's nodes, in execution order (`getGraphNodeNames(model)[1]`). */
  nodes: CatalogueNode[];
  /** The train-mode graph's node names, only where they differ from eval's (auxiliary heads). */
  trainNodes?: string[];
}

export interface Catalogue {
  /** The featurefx version that made the catalogue. */
  featurefx: string;
  models: Record<string, CatalogueEntry>;
}

/** Where the build writes the catalogue, next to the compiled code (dist/catalogue.json). */
const CATALOGUE_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'catalogue.json');

/**
 * The catalogue's input for a model: torchvision documents inception_v3's input as 299×299 (its
 * unpadded stem is made for it) and every other model's as at least 224×224, at which their
 * strides divide the input exactly.
 */
export function catalogueInputShape(name: string): number[] {
  const size = name === 'inception_v3' ? 299 : 224;
  return [1, 3, size, size];
}

const isTensorMeta = (value: unknown): boolean => typeof value === 'object' && value !== null && 'shape' in value;

/** One model's catalogue entry, with torchvision's default leaf modules. */
export function catalogueEntry(name: string): CatalogueEntry {
  const model = skipInit(() => getModel(name));
  const trainTracer = new NodePathTracer(withDefaultLeaves());
  trainTracer.trace(model.train());
  const tracer = new NodePathTracer(withDefaultLeaves());
  const graph = tracer.trace(model.eval());
  const inputShape = catalogueInputShape(name);
  const module = new GraphModule(model, graph, { constants: tracer.tensorConstants });
  // A first pass finds the nodes whose output is a tensor; returning those as a dict lets
  // featureInfo describe each as it would the output of a feature extractor.
  new ShapeProp(module, graph).propagate({ dtype: 'float32', shape: inputShape });
  const tensors: Record<string, Node> = {};
  for (const [node, qualname] of tracer.nodeToQualname)
    if (isTensorMeta(node.meta.tensorMeta)) tensors[qualname] = node;
  const output = graph.findOutput();
  if (output !== undefined) {
    output.args = [];
    graph.eraseNode(output);
  }
  graph.output(tensors);
  module.graph = graph;
  const info = new Map(featureInfo(module, { inputShape }).map((f) => [f.key, f]));
  const nodes = [...tracer.nodeToQualname].map(([node, qualname]): CatalogueNode => {
    const f = info.get(qualname);
    if (f === undefined) return { name: qualname, kind: node.op };
    return {
      name: qualname,
      kind: node.op,
      shape: f.shape,
      layout: f.layout,
      ...(f.channels === undefined ? {} : { channels: f.channels }),
      ...(f.reduction === undefined ? {} : { reduction: f.reduction }),
    };
  });
  const trainNodes = trainTracer.nodeNames();
  const differs = JSON.stringify(trainNodes) !== JSON.stringify(nodes.map((n) => n.name));
  return { inputShape, nodes, ...(differs ? { trainNodes } : {}) };
}

/** The catalogue shipped with the package. */
export function readCatalogue(): Catalogue {
  let text: string;
  try {
    text = readFileSync(CATALOGUE_PATH, 'utf8');
  } catch (cause) {
    throw new Error(
      `the node catalogue ${CATALOGUE_PATH} is missing: it is made by \`npm run build\` (reinstall the package, or build the clone)`,
      { cause },
    );
  }
  return JSON.parse(text) as Catalogue;
}
