/** torchvision.ops modules. (Placeholder until the modules land: the list of default leaf classes.) */
import type { ModuleClass } from '../../fx/tracer.js';

export const TORCHVISION_OPS_LEAF_MODULES: readonly ModuleClass[] = [];
