import { formatShape } from '../tensor/shape.js';
import { defineOp } from './registry.js';

/**
 * A message as parts, joined when the check runs: traced code cannot put a traced size into a
 * template string, so `['got ', h]` keeps `h` a graph argument and the message shows its value.
 */
export type AssertMessage = string | readonly (string | number | readonly number[])[];

function check(condition: unknown, message: AssertMessage): null {
  if (condition !== false && condition !== 0) return null;
  if (typeof message === 'string') throw new RangeError(message);
  throw new RangeError(message.map((p) => (Array.isArray(p) ? formatShape(p as number[]) : String(p))).join(''));
}

/**
 * `torch._assert(condition, message)`: throws a RangeError with `message` when `condition` is
 * false (or 0, a comparison of two sizes). Traced, it records torch.fx's `_assert` node, so node
 * names match torchvision's. Exported, it emits nothing: ONNX has no way to raise a message, and
 * the shapes the checks guard fail in ONNX Runtime instead.
 */
export const assert = defineOp({
  name: '_assert',
  // While shapes propagate a condition may be unknown (metadata): only a known false one fails.
  infer: check,
  direct: check,
  lower: () => [],
  // Returns nothing.
  differentiable: false,
  impure: true,
});
