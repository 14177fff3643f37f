import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WeightsError } from '../errors.js';
import { loadSafetensors } from './safetensors.js';

/** A .safetensors file with this header (any JSON text) and `dataBytes` bytes of data. */
function forge(headerJson: string, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(headerJson);
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function refused(file: Uint8Array, message: RegExp): void {
  assert.throws(
    () => loadSafetensors(file),
    (e: unknown) => {
      assert.ok(e instanceof WeightsError, `a WeightsError, got ${String(e)}`);
      assert.match(e.message, /not a valid \.safetensors file/);
      assert.match(e.message, message);
      return true;
    },
  );
}

test("dtypes are looked up as the table's own entries: Object.prototype's names are unsupported dtypes", () => {
  for (const dtype of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
    const header = JSON.stringify({ w: { dtype, shape: [1], data_offsets: [0, 4] } });
    refused(forge(header, 4), new RegExp(`tensor 'w' has unsupported dtype "${dtype}"; supported: F32, `));
  }
});

test('tensors whose data overlap are refused, naming both', () => {
  const header = {
    a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
    b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
  };
  refused(forge(JSON.stringify(header), 12), /tensors 'a' \[0, 8\] and 'b' \[4, 12\] overlap/);
  // The same range under two names is an overlap too.
  const twice = { a: header.a, b: { ...header.a } };
  refused(forge(JSON.stringify(twice), 8), /tensors 'a' \[0, 8\] and 'b' \[0, 8\] overlap/);
  // Adjacent ranges are fine, in any order in the header.
  const adjacent = { b: { ...header.b, data_offsets: [8, 16] }, a: header.a };
  assert.deepEqual([...loadSafetensors(forge(JSON.stringify(adjacent), 16)).keys()], ['b', 'a']);
});

test('offsets past the data or not matching dtype × shape are refused', () => {
  refused(
    forge(JSON.stringify({ w: { dtype: 'F16', shape: [3], data_offsets: [0, 8] } }), 8),
    /tensor 'w' \(F16 \[3\], 6 bytes\) does not fit its data_offsets \[0, 8\]/,
  );
  refused(
    forge(JSON.stringify({ w: { dtype: 'U8', shape: [4], data_offsets: [4, 8] } }), 6),
    /tensor 'w' \(U8 \[4\], 4 bytes\) does not fit its data_offsets \[4, 8\] in a data section of 6 bytes/,
  );
});

test('a header or an entry that is not a JSON object is refused', () => {
  for (const [header, what] of [
    ['[]', 'an array'],
    ['null', 'null'],
    ['7', '7'],
    ['"F32"', '"F32"'],
  ] as const) {
    refused(forge(header, 0), new RegExp(`the header is ${what}, not a JSON object`));
  }
  for (const entry of ['5', 'null', '[0, 4]', '"F32"']) {
    refused(forge(`{"w": ${entry}}`, 4), /tensor 'w' is .*, not an object \{ dtype, shape, data_offsets \}/);
  }
});
