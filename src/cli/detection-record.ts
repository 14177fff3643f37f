/**
 * One image's detections as the JSON `detect` writes: torchvision's keys (`boxes`, `labels`,
 * `scores`, `masks`) as lists, plus `label_names`. Masks are COCO's uncompressed run-length
 * encoding of `mask > 0.5` (`{ size: [h, w], counts }`, column-major, starting with a run of 0s),
 * which pycocotools reads (`mask.frPyObjects(rle, h, w)` then `mask.decode`).
 */
import * as F from '../ops/functional.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Detection } from '../models/detection/types.js';

/** COCO's uncompressed RLE. */
export interface MaskRle {
  size: [number, number];
  counts: number[];
}

export interface DetectionRecord {
  image: string;
  width: number;
  height: number;
  model: string;
  score_threshold: number;
  /** x1, y1, x2, y2 in the image's pixels. */
  boxes: [number, number, number, number][];
  labels: number[];
  label_names: string[];
  scores: number[];
  masks?: MaskRle[];
}

/**
 * COCO RLEs of masks [K, 1, H, W]: the run boundaries are found with ops (where a pixel differs
 * from the one before it in column-major order), so JavaScript only subtracts positions.
 */
export function encodeMasks(masks: Tensor): MaskRle[] {
  const [k, , h, w] = masks.shape as [number, number, number, number];
  if (k === 0) return [];
  const columns = F.reshape(F.permute(F.to(F.gt(masks, 0.5), 'uint8'), [0, 1, 3, 2]), [k, h * w]);
  const firstPixel = F.getitem(columns, [F.slice(), 0]).data as Uint8Array;
  const changes = F.nonzero(
    F.ne(F.getitem(columns, [F.slice(), F.slice(1)]), F.getitem(columns, [F.slice(), F.slice(null, -1)])),
  ).data as BigInt64Array;
  const starts: number[][] = Array.from({ length: k }, () => []);
  // Each row of nonzero is (mask, position); a run starts one pixel after a change.
  for (let i = 0; i < changes.length; i += 2) starts[Number(changes[i])]!.push(Number(changes[i + 1]) + 1);
  return starts.map((runStarts, mask) => {
    const bounds = [0, ...runStarts, h * w];
    const counts = bounds.slice(1).map((end, i) => end - bounds[i]!);
    // COCO's counts begin with the 0s: a mask whose first pixel is set begins with an empty run.
    return { size: [h, w], counts: firstPixel[mask] === 1 ? [0, ...counts] : counts };
  });
}

const rows = <T>(flat: ArrayLike<T>, width: number): T[][] =>
  Array.from({ length: flat.length / width }, (_, i) => Array.from({ length: width }, (_, j) => flat[i * width + j]!));

/** The JSON record of one image's kept detections; `names` maps labels to category names. */
export function detectionRecord(
  detection: Detection,
  about: { image: string; width: number; height: number; model: string; scoreThreshold: number },
  names: (label: number) => string,
): DetectionRecord {
  const labels = Array.from(detection.labels.data as BigInt64Array, Number);
  const record: DetectionRecord = {
    image: about.image,
    width: about.width,
    height: about.height,
    model: about.model,
    score_threshold: about.scoreThreshold,
    boxes: rows(Array.from(detection.boxes.data as Float32Array), 4) as [number, number, number, number][],
    labels,
    label_names: labels.map(names),
    scores: Array.from(detection.scores.data as Float32Array),
  };
  if (detection.masks !== undefined) record.masks = encodeMasks(detection.masks);
  return record;
}
