/** What every command needs: a model by name (with weights if given) and node specifications. */
import { createFeatureExtractor } from '../featureExtraction/create-feature-extractor.js';
import type { DualGraphModule } from '../featureExtraction/dual-graph-module.js';
import { loadWeights } from '../io/weights.js';
import { type ClassificationModelEntry, getModelEntry } from '../models/index.js';
import { skipInit } from '../nn/init.js';
import type { Module } from '../nn/module.js';

export interface LoadedModel {
  model: Module;
  preset: ClassificationModelEntry['transform'];
}

/**
 * The registry's entry for a classifier: the commands that trace a model or feed it a batch refuse
 * detection models, which take a list of images and run eagerly.
 */
export function classifierEntry(name: string): ClassificationModelEntry {
  const entry = getModelEntry(name);
  if (entry.task === 'detection')
    throw new RangeError(
      `${name} is a detection model: it takes a list of images, runs eagerly and cannot be traced; ` +
        `run it with \`featurefx detect ${name}\`, or pick a classifier (\`featurefx models\`)`,
    );
  return entry;
}

/**
 * The model in eval mode, with `weights` loaded strictly; says on stderr when weights are random, and
 * how the command gives a checkpoint (`weightsOption`).
 */
export function loadModel(name: string, weights: string | undefined, weightsOption = '--weights FILE'): LoadedModel {
  const entry = classifierEntry(name);
  if (weights === undefined) {
    process.stderr.write(`featurefx: ${name} has random weights (pass ${weightsOption} to load a checkpoint)\n`);
    return { model: entry.build().eval(), preset: entry.transform };
  }
  // Strict loading replaces every tensor, so drawing random ones first would be wasted time.
  const model = skipInit(() => entry.build(entry.checkpointOptions));
  // A fresh checkpoint for a model built for it: its tensors are installed, not copied.
  model.loadStateDict(loadWeights(weights), { assign: true });
  return { model: model.eval(), preset: entry.transform };
}

/**
 * `a,b` or `a=key,b=key2` as a map from node name to output key. Each node is asked once, each
 * key used once, and neither is empty.
 */
export function parseNodes(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const fields = part.split('=').map((s) => s.trim());
    if (fields.length > 2) throw new RangeError(`--nodes '${part}': a key cannot contain '='; write node=key`);
    const node = fields[0]!;
    const key = fields[1] ?? node;
    if (node === '') throw new RangeError(`--nodes '${part}': the node name is empty; write node=key`);
    if (key === '') throw new RangeError(`--nodes '${part}': the key is empty; write ${node}=KEY, or ${node} alone`);
    if (Object.hasOwn(out, node))
      throw new RangeError(`--nodes asks for the node '${node}' twice (as '${out[node]}' and '${key}'); name it once`);
    const sameKey = Object.keys(out).find((n) => out[n] === key);
    if (sameKey !== undefined)
      throw new RangeError(`--nodes gives the nodes '${sameKey}' and '${node}' one key '${key}'; give each its own`);
    // defineProperty, so that a node named `__proto__` is a key like any other.
    Object.defineProperty(out, node, { value: key, enumerable: true, writable: true });
  }
  if (Object.keys(out).length === 0) throw new RangeError('--nodes names no node');
  return out;
}

export function buildExtractor(model: Module, nodes: string): DualGraphModule {
  return createFeatureExtractor(model, { returnNodes: parseNodes(nodes), suppressDiffWarning: true }).eval();
}

/** `1,3,224,224` as numbers. */
export function parseShape(spec: string): number[] {
  const shape = spec.split(',').map((s) => Number(s.trim()));
  if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d <= 0))
    throw new Error(`invalid shape '${spec}'`);
  return shape;
}
