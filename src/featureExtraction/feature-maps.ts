/**
 * Feature maps in one layout, whatever each block gives: what a feature pyramid takes. As timm's
 * `forward_intermediates(output_fmt='NCHW', return_prefix_tokens=True)`.
 */
import { slice } from '../ops/getitem.js';
import { permute } from '../ops/permute.js';
import { reshape } from '../ops/reshape.js';
import type { Tensor } from '../tensor/tensor.js';
import type { FeatureInfo } from './feature-info.js';

export interface FeatureMaps {
  /** Every output as an NCHW map. */
  maps: Record<string, Tensor>;
  /** For token outputs with prefix tokens (ViT's class token): those tokens, [N, prefix, C]. */
  prefixTokens: Record<string, Tensor>;
}

/**
 * `outputs` (an extractor's, for the input shape `info` was computed for, any batch size) as NCHW
 * maps: NHWC maps (Swin) are permuted, tokens (ViT) lose their prefix tokens, returned apart, and
 * are laid out on their patch grid. Vectors and other layouts raise a RangeError.
 * @example
 * const extractor = createFeatureExtractor(getModel('swin_t').eval(), { returnNodes: ['features.1'] });
 * const info = featureInfo(extractor, { inputShape: [1, 3, 64, 64] });
 * const out = extractor.call(randn([2, 3, 64, 64])) as Record<string, Tensor>;
 * toFeatureMaps(out, info).maps['features.1']; // [2, 96, 16, 16] from Swin's [2, 16, 16, 96]
 */
export function toFeatureMaps(outputs: Record<string, Tensor>, info: readonly FeatureInfo[]): FeatureMaps {
  const result: FeatureMaps = { maps: {}, prefixTokens: {} };
  for (const [key, x] of Object.entries(outputs)) {
    const f = info.find((i) => i.key === key);
    if (f === undefined) {
      throw new RangeError(
        `[toFeatureMaps] no featureInfo entry for output '${key}'; pass featureInfo(extractor, ...)`,
      );
    }
    const matches = x.shape.length === f.shape.length && x.shape.every((d, axis) => axis === 0 || d === f.shape[axis]);
    if (!matches) {
      throw new RangeError(
        `[toFeatureMaps] output '${key}' has shape [${x.shape.join(', ')}], but featureInfo describes ` +
          `[${f.shape.join(', ')}]; compute featureInfo for this input shape`,
      );
    }
    if (f.layout === 'NCHW') {
      result.maps[key] = x;
    } else if (f.layout === 'NHWC') {
      result.maps[key] = permute(x, [0, 3, 1, 2]);
    } else if (f.layout === 'NLC') {
      const [h, w] = f.spatial!;
      if (f.prefixTokens > 0) result.prefixTokens[key] = x.getitem([slice(), slice(0, f.prefixTokens)]);
      const grid = f.prefixTokens > 0 ? x.getitem([slice(), slice(f.prefixTokens)]) : x;
      result.maps[key] = permute(reshape(grid, [x.shape[0]!, h, w, f.channels!]), [0, 3, 1, 2]);
    } else {
      throw new RangeError(
        `[toFeatureMaps] output '${key}' is laid out ${f.layout} (shape [${x.shape.join(', ')}]), not as a map ` +
          'or tokens on a grid; return a block output instead of a pooled or flattened one',
      );
    }
  }
  return result;
}
