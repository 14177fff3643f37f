/**
 * The "preprocessing" form: torchvision's ImageClassification preset the image goes through
 * (resize, centre crop, interpolation, mean and std), editable. The crop is fixed when the model's
 * input has a fixed size.
 */
import type { Preset } from './model-source.js';

function field(form: HTMLFormElement, name: string): HTMLInputElement | HTMLSelectElement {
  return form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
}

/** Shows `preset`; `fixedCrop` (the model's input size) makes the crop read-only. */
export function writePresetForm(form: HTMLFormElement, preset: Preset, fixedCrop: number | undefined): void {
  field(form, 'resizeSize').value = String(preset.resizeSize);
  const crop = field(form, 'cropSize') as HTMLInputElement;
  crop.value = String(preset.cropSize);
  crop.readOnly = fixedCrop !== undefined;
  crop.title = fixedCrop === undefined ? '' : `the model's input is ${fixedCrop}×${fixedCrop}`;
  field(form, 'interpolation').value = preset.interpolation;
  field(form, 'mean').value = preset.mean.join(', ');
  field(form, 'std').value = preset.std.join(', ');
}

/**
 * The preset the form describes.
 *
 * @throws RangeError naming the field for a size that is not a positive integer, a crop larger than
 *   the resize, or a mean/std that is not three numbers (std positive).
 */
export function readPresetForm(form: HTMLFormElement): Preset {
  const size = (name: string): number => {
    const text = field(form, name).value.trim();
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < 1) {
      throw new RangeError(`preprocessing: ${name} must be a positive whole number of pixels, got '${text}'`);
    }
    return value;
  };
  const triple = (name: string, positive: boolean): number[] => {
    const text = field(form, name).value;
    const values = text
      .split(/[\s,]+/)
      .filter((t) => t !== '')
      .map(Number);
    if (values.length !== 3 || values.some((v) => !Number.isFinite(v) || (positive && v <= 0))) {
      throw new RangeError(
        `preprocessing: ${name} must be three ${positive ? 'positive ' : ''}numbers (red, green, blue), got '${text}'`,
      );
    }
    return values;
  };
  const resizeSize = size('resizeSize');
  const cropSize = size('cropSize');
  if (cropSize > resizeSize) {
    throw new RangeError(
      `preprocessing: crop ${cropSize} is larger than resize ${resizeSize}; the crop is cut from the resized image`,
    );
  }
  const interpolation = field(form, 'interpolation').value === 'bicubic' ? 'bicubic' : 'bilinear';
  return { resizeSize, cropSize, interpolation, mean: triple('mean', false), std: triple('std', true) };
}
