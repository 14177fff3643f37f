import { formatShape } from '../tensor/shape.js';
import type { Tensor, TensorMeta } from '../tensor/tensor.js';
import { expand } from './expand.js';
import { expectSameDType, expectTensor } from './helpers/checks.js';
import type { ArgumentGradients } from './op.js';
import { defineOp } from './registry.js';
import { reshape } from './reshape.js';

/** An equation split into one term per operand and the output term, spaces removed. */
interface Equation {
  inputs: string[];
  output: string;
}

/**
 * Parses torch's einsum notation: letters, spaces (ignored), ',' between operands and an
 * optional '->'. Without '->' the output is the letters used once, in alphabetical order.
 * Ellipses and repeated letters within one term (diagonals) are not supported.
 */
function parse(equation: string, operandCount: number): Equation {
  if (typeof equation !== 'string') throw new TypeError('[einsum] the equation must be a string');
  const compact = equation.replace(/\s/g, '');
  if (compact.includes('.'))
    throw new RangeError(`[einsum] ellipses (...) are not supported in '${equation}'; name every dimension`);
  const [lhs, rhs, extra] = compact.split('->');
  if (extra !== undefined) throw new RangeError(`[einsum] '${equation}' has more than one '->'`);
  const inputs = lhs!.split(',');
  const terms = rhs === undefined ? inputs : [...inputs, rhs];
  for (const term of terms) {
    if (!/^[A-Za-z]*$/.test(term))
      throw new RangeError(`[einsum] '${equation}' has a term '${term}' with characters other than letters`);
    if (new Set(term).size !== term.length)
      throw new RangeError(`[einsum] '${term}' in '${equation}' repeats a letter; diagonals are not supported`);
  }
  if (inputs.length !== operandCount) {
    throw new RangeError(
      `[einsum] '${equation}' has ${inputs.length} operand terms but ${operandCount} operands were given`,
    );
  }
  const used = inputs.join('');
  const output =
    rhs ??
    [...new Set(used)]
      .filter((c) => used.indexOf(c) === used.lastIndexOf(c))
      .sort()
      .join('');
  for (const c of output)
    if (!used.includes(c)) throw new RangeError(`[einsum] output letter '${c}' of '${equation}' is in no operand`);
  return { inputs, output };
}

/** Each letter's size, checked to agree across operands. */
function letterSizes(equation: string, { inputs }: Equation, operands: readonly TensorMeta[]): Map<string, number> {
  const sizes = new Map<string, number>();
  inputs.forEach((term, i) => {
    const x = expectTensor('einsum', `operand ${i}`, operands[i]);
    if (x.shape.length !== term.length) {
      throw new RangeError(
        `[einsum] operand ${i} has ${x.shape.length} dims ${formatShape(x.shape)} but '${term}' in '${equation}' names ${term.length}`,
      );
    }
    [...term].forEach((c, axis) => {
      const size = x.shape[axis]!;
      const seen = sizes.get(c);
      if (seen !== undefined && seen !== size)
        throw new RangeError(`[einsum] letter '${c}' of '${equation}' has sizes ${seen} and ${size}`);
      sizes.set(c, size);
    });
  });
  return sizes;
}

/** The equation for ONNX's Einsum: the same terms with letters renamed to lowercase (its alphabet). */
function onnxEquation({ inputs, output }: Equation): string {
  const letters = [...new Set(inputs.join(''))];
  if (letters.length > 26) throw new RangeError(`[einsum] at most 26 distinct letters are supported`);
  const rename = (term: string): string => [...term].map((c) => String.fromCharCode(97 + letters.indexOf(c))).join('');
  return `${inputs.map(rename).join(',')}->${rename(output)}`;
}

/**
 * The gradient of operand `i`: the output gradient contracted with the other operands onto the
 * letters of term i that appear elsewhere, then expanded along the letters only term i has (it
 * was summed over them).
 */
function operandGradient(grad: Tensor, operands: readonly Tensor[], eq: Equation, i: number): Tensor {
  const term = eq.inputs[i]!;
  const others = eq.inputs.filter((_, j) => j !== i);
  const elsewhere = eq.output + others.join('');
  const kept = [...term].filter((c) => elsewhere.includes(c)).join('');
  const rest = operands.filter((_, j) => j !== i);
  const g = einsum(`${[eq.output, ...others].join(',')}->${kept}`, grad, ...rest);
  if (kept === term) return g;
  const x = operands[i]!;
  const withOnes = [...term].map((c, axis) => (kept.includes(c) ? x.shape[axis]! : 1));
  return expand(reshape(g, withOnes), [...x.shape]);
}

/**
 * Sums of products over named dimensions, as `torch.einsum(equation, *operands)`.
 * @example
 * F.einsum('b i d, b j d -> b i j', randn([2, 3, 4]), randn([2, 5, 4])); // batched q @ k^T: [2, 3, 5]
 */
export const einsum = defineOp({
  name: 'einsum',
  infer: (equation: string, ...operands: TensorMeta[]): TensorMeta => {
    const eq = parse(equation, operands.length);
    const sizes = letterSizes(equation, eq, operands);
    expectSameDType('einsum', Object.fromEntries(operands.map((x, i) => [`operand ${i}`, x])));
    return { dtype: operands[0]!.dtype, shape: [...eq.output].map((c) => sizes.get(c)!) };
  },
  lower: (ctx, equation, ...operands) =>
    ctx.emit('Einsum', operands, { equation: onnxEquation(parse(equation, operands.length)) }),
  backward: ({ grad, args: [equation, ...operands], needs }): ArgumentGradients => {
    const eq = parse(equation, operands.length);
    return [null, ...operands.map((_, i) => (needs[i + 1] ? operandGradient(grad, operands, eq, i) : null))];
  },
});
