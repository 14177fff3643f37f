/**
 * The page's channel picker (web/grid-channels.ts, no DOM): "0-63", "5", "0-15,100-103" as channel
 * indices, and the messages for text that is not that.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultChannels, MAX_SHOWN_CHANNELS, parseChannels } from '../../web/grid-channels.js';

test('ranges, single channels and lists, in the order given without repeats', () => {
  assert.deepEqual(parseChannels('5', 64), [5]);
  assert.deepEqual(parseChannels('0-3', 64), [0, 1, 2, 3]);
  assert.deepEqual(parseChannels(' 0-1, 100 - 102 ,1,', 1024), [0, 1, 100, 101, 102]);
  assert.deepEqual(parseChannels('63', 64), [63]);
});

test('the default is the first 64 channels, or all of fewer', () => {
  assert.equal(defaultChannels(1024), '0-63');
  assert.equal(defaultChannels(3), '0-2');
  assert.equal(defaultChannels(1), '0');
  assert.equal(parseChannels(defaultChannels(1024), 1024).length, 64);
});

test('bad text says what is wrong and what to write', () => {
  const cases: [string, number, string][] = [
    ['', 64, 'channels: give channels such as "0-63", "5" or "0-15,100-103" (0-63)'],
    ['abc', 64, 'channels: "abc" is not a channel or a range; write e.g. "0-63", "5" or "0-15,100-103"'],
    ['-3', 64, 'channels: "-3" is not a channel or a range; write e.g. "0-63", "5" or "0-15,100-103"'],
    ['10-5', 64, 'channels: "10-5" runs backwards; write the smaller channel first ("5-10")'],
    ['0-64', 64, 'channels: 64 is out of range: this node has 64 channels (0-63)'],
    ['1', 1, 'channels: 1 is out of range: this node has 1 channel'],
    [
      '0-2047',
      2048,
      `channels: 2048 channels asked for; the grid draws at most ${MAX_SHOWN_CHANNELS} at once (e.g. "0-1023")`,
    ],
  ];
  for (const [text, count, message] of cases)
    assert.throws(() => parseChannels(text, count), { name: 'RangeError', message }, text);
});
