/** The preprocessing graph of image-classification.ts, run in Node by ONNX Runtime. */
import { encodeModel } from '../runtime/onnx-model.js';
import { NativeSession } from '../runtime/native-session.js';
import { type ClassificationPreset, preprocessGraph, preprocessInputs } from './image-classification.js';

/** The preset's preprocessing, compiled once and run per image. */
export class ImagePreprocessor {
  private readonly session: NativeSession;

  constructor(readonly preset: ClassificationPreset) {
    this.session = new NativeSession(encodeModel(preprocessGraph(preset)), {
      intraOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  }

  /**
   * Preprocesses decoded RGB bytes [height, width, 3]: `input` float32 [3, crop, crop] (normalised)
   * and `pixels`, the resized and cropped RGB bytes [crop, crop, 3].
   */
  run(rgb: Uint8Array, width: number, height: number): { input: Float32Array; pixels: Uint8Array } {
    const [input, pixels] = this.session.run(preprocessInputs(this.preset, rgb, width, height));
    return { input: input!.data as Float32Array, pixels: pixels!.data as Uint8Array };
  }

  dispose(): void {
    this.session.dispose();
  }
}
