/**
 * A Grad-CAM map drawn over the image the model saw, as `featurefx gradcam` draws it: the jet heat
 * map at 50% over the preview pixels (heatOverlayPixels of src/explain/, shared with the command).
 */
import { heatOverlayPixels } from '../src/explain/heat-overlay-pixels.js';

/** How much of the heat map shows over the image (`featurefx gradcam`'s). */
const HEAT_OPACITY = 0.5;

/** Draws `cam` ([size, size], in [0, 1]) over `pixels` ([size, size, 3] RGB) on `canvas`, at size x size. */
export function renderGradCam(canvas: HTMLCanvasElement, pixels: Uint8Array, cam: Float32Array, size: number): void {
  const rgb = heatOverlayPixels(pixels, cam, HEAT_OPACITY);
  const rgba = new Uint8ClampedArray(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    rgba[i * 4] = rgb[i * 3]!;
    rgba[i * 4 + 1] = rgb[i * 3 + 1]!;
    rgba[i * 4 + 2] = rgb[i * 3 + 2]!;
    rgba[i * 4 + 3] = 255;
  }
  canvas.width = size;
  canvas.height = size;
  canvas.getContext('2d')!.putImageData(new ImageData(rgba, size, size), 0, 0);
}
