/**
 * torchvision's `_make_divisible`: rounds a channel count to a multiple of `divisor`, never more
 * than 10% below the requested value.
 */
export function makeDivisible(v: number, divisor: number, minValue = divisor): number {
  let newV = Math.max(minValue, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (newV < 0.9 * v) newV += divisor;
  return newV;
}
