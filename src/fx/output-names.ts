/**
 * What a graph returns, as ONNX outputs: the result's tensors get output names (a dict's keys,
 * 'output_{i}' for a list, 'output' for one tensor).
 */
import { type GraphBuilder, type Value, isValue } from '../ops/lowering.js';
import { describeValue } from './check-options.js';
import { ExportError } from './export-error.js';
import { type Argument, Node, isPlainObject } from './node.js';

/** Whether the graph computes `returned` as a size (a JS number in eager code, a traced `x.shape[0]`). */
function isSize(returned: Argument): boolean {
  return returned instanceof Node && typeof returned.meta.tensorMeta === 'number';
}

/**
 * The graph's result as named tensors (a list's are 'output_{i}', a tensor is 'output').
 * `returned` is the output node's argument: the nodes behind each of the result's values. A size
 * known when exporting becomes a constant, so that a size is always an output.
 */
export function namedOutputs(result: unknown, returned: Argument, builder: GraphBuilder): [string, Value][] {
  const single = isValue(result) || isSize(returned);
  const entries: [string, unknown, Argument][] = single
    ? [['output', result, returned]]
    : Array.isArray(result)
      ? result.map((v, i) => [`output_${i}`, v, (returned as Argument[])[i]!])
      : isPlainObject(result)
        ? Object.entries(result).map(([key, v]) => [key, v, (returned as Record<string, Argument>)[key]!])
        : [];
  if (entries.length === 0) {
    throw new ExportError(
      `the graph returns ${describeValue(result)}, which holds no tensor; ONNX outputs are tensors, ` +
        'so return a tensor, a list of tensors or an object of tensors',
    );
  }
  return entries.map(([key, v, node]): [string, Value] => {
    if (typeof v === 'number' && isSize(node)) {
      return [key, { kind: 'value', name: builder.constant(v, 'int64'), dtype: 'int64', shape: [] }];
    }
    if (!isValue(v)) {
      throw new ExportError(
        `the graph's output '${key}' is ${describeValue(v)}, not a tensor; ONNX outputs are tensors, ` +
          'so return a tensor, a list of tensors or an object of tensors (not nested)',
      );
    }
    return [key, v];
  });
}
