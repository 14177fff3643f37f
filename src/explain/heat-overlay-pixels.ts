/**
 * A Grad-CAM map drawn over the image it explains, as `featurefx gradcam` writes it and the browser
 * page shows it: one definition of that picture. Browser-safe.
 */
import { COLORMAPS } from './colormaps.js';

/**
 * The RGB pixels `rgb` ([H, W, 3]) with `cam` ([H, W], values in [0, 1]) as a jet heat map over
 * them: each pixel is round((1 - opacity) * image + opacity * jet(level)), level = round(255 * cam)
 * clamped to 0..255 (NaN counts as 0, no heat).
 */
export function heatOverlayPixels(rgb: Uint8Array, cam: Float32Array, opacity: number): Uint8Array<ArrayBuffer> {
  if (rgb.length !== cam.length * 3)
    throw new RangeError(
      `heatOverlayPixels: ${rgb.length} RGB bytes do not match a map of ${cam.length} values; ` +
        'pass the image as [H, W, 3] bytes and the map as [H, W] at the same size',
    );
  if (!(opacity >= 0 && opacity <= 1))
    throw new RangeError(`heatOverlayPixels: opacity must be in [0, 1], got ${opacity}`);
  const jet = COLORMAPS.jet;
  const out = new Uint8Array(rgb.length);
  for (let i = 0; i < cam.length; i++) {
    const v = cam[i]!;
    const level = v > 0 ? Math.min(255, Math.round(255 * v)) : 0;
    for (let c = 0; c < 3; c++)
      out[i * 3 + c] = Math.round((1 - opacity) * rgb[i * 3 + c]! + opacity * jet[level * 3 + c]!);
  }
  return out;
}
