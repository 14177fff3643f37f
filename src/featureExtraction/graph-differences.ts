/** torchvision's warnings when the train-mode and eval-mode graphs name different nodes. */
import { warn } from '../warnings.js';

/** Whether `sub` is a subsequence of `seq` (in order, not necessarily contiguous). */
export function isSubsequence(seq: readonly string[], sub: readonly string[]): boolean {
  let i = 0;
  for (const item of seq) if (i < sub.length && item === sub[i]) i++;
  return i === sub.length;
}

/** The warning for differing node lists, or undefined when they are equal. Same three cases as torchvision. */
export function graphDifferenceMessage(
  trainNodes: readonly string[],
  evalNodes: readonly string[],
): string | undefined {
  if (trainNodes.length === evalNodes.length && trainNodes.every((t, i) => t === evalNodes[i])) return undefined;
  const suggestion =
    'When choosing nodes for feature extraction, you may need to specify output nodes for train and eval mode ' +
    'separately (trainReturnNodes and evalReturnNodes).';
  if (isSubsequence(trainNodes, evalNodes)) {
    return `NOTE: The nodes obtained by tracing the model in eval mode are a subsequence of those obtained in train mode. ${suggestion}`;
  }
  if (isSubsequence(evalNodes, trainNodes)) {
    return `NOTE: The nodes obtained by tracing the model in train mode are a subsequence of those obtained in eval mode. ${suggestion}`;
  }
  return `The nodes obtained by tracing the model in train mode are different to those obtained in eval mode. ${suggestion}`;
}

/** Emits the warning as a Node.js process warning (type 'FeatureExtractionWarning'), or to the console elsewhere. */
export function warnGraphDifferences(trainNodes: readonly string[], evalNodes: readonly string[]): void {
  const message = graphDifferenceMessage(trainNodes, evalNodes);
  if (message !== undefined) warn('FeatureExtractionWarning', message);
}
