/**
 * Parameter counts of the zoo's classifiers, from torchvision's state dicts in the fixtures (the zoo
 * test checks ours equal them), so that tests can pick models by size without building the large ones.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listModels } from '../../src/models/index.js';
import { FIXTURES_DIR } from './compare-with-torch.js';

const stateDicts = JSON.parse(readFileSync(join(FIXTURES_DIR, 'models', 'names.json'), 'utf8')) as {
  models: Record<string, { stateDict: Record<string, number[]> }>;
};

/** Trainable parameters of zoo model `name` (batch norm statistics not counted). */
export function parameterCount(name: string): number {
  const entries = Object.entries(stateDicts.models[name]?.stateDict ?? {});
  return entries
    .filter(([key]) => !/running_(mean|var)$|num_batches_tracked$/.test(key))
    .reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
}

/** The zoo's classifiers with at most `max` parameters, in the registry's order. */
export function classifiersUpTo(max: number): string[] {
  return listModels({ task: 'classification' }).filter((n) => parameterCount(n) <= max);
}
