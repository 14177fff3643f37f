/**
 * The classification preprocessing against torchvision 0.14's preset transforms on PIL images
 * (scripts/fixtures/make_preprocess.py): real photos, bilinear and bicubic presets, landscape,
 * portrait, odd sizes and an image smaller than the crop.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import { cropImage, loadImage, readRgb } from '../../src/cli/images.js';
import { centerCropOffset, resizedSize } from '../../src/preprocess/image-classification.js';

const DIR = 'test/fixtures/preprocess';

interface Case {
  preset: string;
  resizeSize: number;
  cropSize: number;
  interpolation: 'bilinear' | 'bicubic';
  mean: number[];
  std: number[];
  rowStride: number;
  rows: string;
  channelMeans: number[];
}

interface Photo {
  file: string;
  width: number;
  height: number;
  decodedSha256: string;
  cases: Case[];
}

const photos = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Photo);

describe("torchvision's ImageClassification on PIL images", () => {
  it('has fixtures of both interpolations', () => {
    const kinds = new Set(photos.flatMap((p) => p.cases.map((c) => c.interpolation)));
    assert.deepEqual([...kinds].sort(), ['bicubic', 'bilinear']);
  });

  for (const photo of photos) {
    const path = join(DIR, photo.file);

    it(`${photo.file}: sharp decodes the same RGB bytes as PIL`, async () => {
      const { rgb, width, height } = await readRgb(path);
      assert.deepEqual([width, height], [photo.width, photo.height]);
      assert.equal(createHash('sha256').update(rgb).digest('hex'), photo.decodedSha256);
    });

    for (const c of photo.cases) {
      const { resizeSize, cropSize, interpolation, mean, std } = c;
      const preset = { resizeSize, cropSize, interpolation, mean, std };

      it(`${photo.file} ${photo.width}x${photo.height}, ${c.preset} (${c.interpolation} ${c.resizeSize}/${c.cropSize}): every pixel within 1/255`, async () => {
        const size = c.cropSize;
        const input = (await loadImage(path, preset)).data as Float32Array;
        assert.equal(input.length, 3 * size * size);
        const expected = inflateSync(Buffer.from(c.rows, 'base64'));
        const pixels = await cropImage(path, preset);
        let worst = 0;
        for (let r = 0, i = 0; r * c.rowStride < size; r++) {
          const y = r * c.rowStride;
          for (let x = 0; x < size; x++) {
            for (let ch = 0; ch < 3; ch++, i++) {
              // Un-normalised back to 0..255.
              const ours = (input[(ch * size + y) * size + x]! * c.std[ch]! + c.mean[ch]!) * 255;
              worst = Math.max(worst, Math.abs(ours - expected[i]!));
              assert.ok(Math.abs(pixels[(y * size + x) * 3 + ch]! - expected[i]!) <= 1);
            }
          }
        }
        assert.ok(worst <= 1 + 1e-3, `worst pixel differs by ${worst.toFixed(3)} / 255`);
        for (let ch = 0; ch < 3; ch++) {
          let sum = 0;
          for (let j = 0; j < size * size; j++) sum += input[ch * size * size + j]!;
          const tolerance = 2e-3 / c.std[ch]!;
          assert.ok(Math.abs(sum / (size * size) - c.channelMeans[ch]!) < tolerance, `channel ${ch} mean`);
        }
      });
    }
  }
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
});
