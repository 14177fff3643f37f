/**
 * The feature grid's channel picker: text such as "0-63", "5" or "0-15,100-103" as channel indices,
 * with a message a person can act on when the text is not that. No DOM: tested in Node.
 */

/** How many canvases a grid draws at most (resnet50's widest node has 2048 channels). */
export const MAX_SHOWN_CHANNELS = 1024;

/** What the picker shows at first: the first 64 channels (all of them when there are fewer). */
export function defaultChannels(count: number): string {
  return count <= 1 ? '0' : `0-${Math.min(count, 64) - 1}`;
}

/**
 * The channels `text` names, in its order without repeats, each below `count`. Throws a RangeError
 * saying what is wrong and what to write.
 */
export function parseChannels(text: string, count: number): number[] {
  const example = count > 1 ? ` (0-${count - 1})` : '';
  const parts = text.split(',').map((part) => part.trim());
  if (parts.every((part) => part === ''))
    throw new RangeError(`channels: give channels such as "0-63", "5" or "0-15,100-103"${example}`);
  const channels = new Set<number>();
  for (const part of parts) {
    if (part === '') continue;
    const match = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (match === null)
      throw new RangeError(`channels: "${part}" is not a channel or a range; write e.g. "0-63", "5" or "0-15,100-103"`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first)
      throw new RangeError(`channels: "${part}" runs backwards; write the smaller channel first ("${last}-${first}")`);
    if (last >= count)
      throw new RangeError(
        `channels: ${last} is out of range: this node has ${count} channel${count === 1 ? '' : 's'}${example}`,
      );
    for (let c = first; c <= last; c++) channels.add(c);
  }
  if (channels.size > MAX_SHOWN_CHANNELS)
    throw new RangeError(
      `channels: ${channels.size} channels asked for; the grid draws at most ${MAX_SHOWN_CHANNELS} at once ` +
        `(e.g. "0-${MAX_SHOWN_CHANNELS - 1}")`,
    );
  return [...channels];
}
