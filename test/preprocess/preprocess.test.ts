/**
 * The classification preprocessing against torchvision 0.14's preset transforms on PIL 9.4 images
 * (scripts/fixtures/make_preprocess.py): every distinct preset of the registry, on real photos
 * (landscape, portrait, odd sizes, grayscale, one smaller than the crop), and two crops larger than
 * the resized image (zero padding). Bit for bit: the cropped pixels and the normalised float32
 * tensor hash alike.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { cropImage, loadImage, readRgb } from '../../src/cli/images.js';
import { getModelEntry, listModels } from '../../src/models/index.js';
import {
  type ClassificationPreset,
  IMAGENET_MEAN,
  IMAGENET_STD,
  centerCropOffset,
  resizedSize,
} from '../../src/preprocess/image-classification.js';
import { ImagePreprocessor } from '../../src/preprocess/image-preprocessor.js';
import { PREPROCESS_DIR as DIR, loadPreprocessPhotos, sha256 } from '../helpers/preprocess-fixtures.js';

const photos = loadPreprocessPhotos();

function presetKey(p: ClassificationPreset): string {
  return JSON.stringify([p.resizeSize, p.cropSize, p.interpolation, p.mean ?? null, p.std ?? null]);
}

const preprocessors = new Map<string, ImagePreprocessor>();
function preprocessor(preset: ClassificationPreset): ImagePreprocessor {
  const key = presetKey(preset);
  let p = preprocessors.get(key);
  if (p === undefined) preprocessors.set(key, (p = new ImagePreprocessor(preset)));
  return p;
}

describe("torchvision's ImageClassification on PIL images, bit for bit", () => {
  after(() => preprocessors.forEach((p) => p.dispose()));

  it("covers every distinct preset of the registry's classifiers, each on two photos or more", () => {
    const photosOf = new Map<string, number>();
    for (const c of photos.flatMap((p) => p.cases)) {
      const key = presetKey(c);
      photosOf.set(key, (photosOf.get(key) ?? 0) + 1);
    }
    for (const name of listModels({ task: 'classification' })) {
      const { transform } = getModelEntry(name) as { transform: ClassificationPreset };
      // The registry omits ImageNet's mean and std; the fixtures spell them out.
      const full = { ...transform, mean: transform.mean ?? IMAGENET_MEAN, std: transform.std ?? IMAGENET_STD };
      assert.ok((photosOf.get(presetKey(full)) ?? 0) >= 2, `${name}'s preset ${presetKey(full)}`);
    }
  });

  for (const photo of photos) {
    const path = join(DIR, photo.file);
    const decoded = readRgb(path);

    it(`${photo.file}: sharp decodes the same RGB bytes as PIL`, async () => {
      const { rgb, width, height } = await decoded;
      assert.deepEqual([width, height], [photo.width, photo.height]);
      assert.equal(sha256(rgb), photo.decodedSha256);
    });

    for (const c of photo.cases) {
      const { resizeSize, cropSize, interpolation, mean, std } = c;
      const size = `${photo.width}x${photo.height}`;
      const title = `${photo.file} ${size}, ${c.preset}'s preset (${interpolation} ${resizeSize}/${cropSize})`;

      it(`${title}: the same pixels and normalised tensor`, async () => {
        const { rgb, width, height } = await decoded;
        const preset = { resizeSize, cropSize, interpolation, mean, std };
        const { input, pixels } = preprocessor(preset).run(rgb, width, height);
        assert.equal(pixels.length, cropSize * cropSize * 3);
        assert.equal(input.length, 3 * cropSize * cropSize);
        if (c.rows !== undefined && c.rowStride !== undefined) {
          const expected = inflateSync(Buffer.from(c.rows, 'base64'));
          const row = cropSize * 3;
          let worst = 0;
          for (let i = 0; i < expected.length; i++) {
            const ours = pixels[Math.floor(i / row) * c.rowStride * row + (i % row)]!;
            worst = Math.max(worst, Math.abs(ours - expected[i]!));
          }
          assert.equal(worst, 0, `sampled rows differ by up to ${worst} levels`);
        }
        assert.equal(sha256(pixels), c.pixelsSha256, 'pixels');
        assert.equal(sha256(input), c.inputSha256, 'normalised tensor');
      });
    }
  }

  it('is what loadImage and cropImage give', async () => {
    const path = join(DIR, 'rocket.jpg');
    const c = photos.find((p) => p.file === 'rocket.jpg')!.cases[0]!;
    const { resizeSize, cropSize, interpolation, mean, std } = c;
    const preset = { resizeSize, cropSize, interpolation, mean, std };
    assert.equal(sha256((await loadImage(path, preset)).data as Float32Array), c.inputSha256);
    assert.equal(sha256(await cropImage(path, preset)), c.pixelsSha256);
  });
});

describe("torchvision's sizes", () => {
  it('resizes the shorter side and truncates the longer, as _compute_resized_output_size', () => {
    assert.deepEqual(resizedSize(427, 305, 256), [358, 256]);
    assert.deepEqual(resizedSize(480, 640, 232), [232, 309]);
    assert.deepEqual(resizedSize(100, 100, 224), [224, 224]);
  });

  it("centre-crops at Python's round of the half offset (half to even)", () => {
    assert.equal(centerCropOffset(256, 224), 16);
    assert.equal(centerCropOffset(225, 224), 0);
    assert.equal(centerCropOffset(227, 224), 2);
    assert.equal(centerCropOffset(229, 224), 2);
  });

  it('pads a crop larger than the image with (crop - size) // 2 zeros before it, as center_crop', () => {
    assert.equal(centerCropOffset(199, 224), -12);
    assert.equal(centerCropOffset(222, 224), -1);
  });
});
