/**
 * The tracer behind feature extraction (src/fx/node-path-tracer.ts, re-exported here for its users)
 * and torchvision's default leaves for it.
 */
import type { TracerOptions } from '../fx/tracer.js';
import { TORCHVISION_OPS_LEAF_MODULES } from '../nn/vision-ops/index.js';

export { NodePathTracer } from '../fx/node-path-tracer.js';

/**
 * Tracer options with torchvision's defaults appended: its ops modules (Conv2dNormActivation,
 * SqueezeExcitation, StochasticDepth, FeaturePyramidNetwork, ...) are leaves.
 */
export function withDefaultLeaves(options: TracerOptions = {}): TracerOptions {
  return { ...options, leafModules: [...(options.leafModules ?? []), ...TORCHVISION_OPS_LEAF_MODULES] };
}
