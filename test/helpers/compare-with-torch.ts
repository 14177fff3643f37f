/**
 * Fixtures written by PyTorch (scripts/fixtures/*.py) and the comparison every numeric test uses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DType, allocate } from '../../src/tensor/dtype.js';
import { Tensor } from '../../src/tensor/tensor.js';

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

interface EncodedTensor {
  dtype: DType;
  shape: number[];
  b64: string;
}

export interface FixtureCase {
  name: string;
  params: Record<string, unknown>;
  /** Tensors by the name the generating script gave them. */
  t: Record<string, Tensor>;
}

export function decodeTensor(e: EncodedTensor): Tensor {
  const bytes = Buffer.from(e.b64, 'base64');
  const data = allocate(e.dtype, bytes.length / (e.dtype === 'bool' ? 1 : allocate(e.dtype, 0).BYTES_PER_ELEMENT));
  new Uint8Array(data.buffer).set(bytes);
  return new Tensor(e.dtype, e.shape, data);
}

/** The cases of fixture file `relpath` under test/fixtures (e.g. 'ops/conv2d.json'). */
export function loadFixture(relpath: string): FixtureCase[] {
  const file = JSON.parse(readFileSync(join(FIXTURES_DIR, relpath), 'utf8')) as {
    cases: { name: string; params: Record<string, unknown>; tensors: Record<string, EncodedTensor> }[];
  };
  return file.cases.map((c) => ({
    name: c.name,
    params: c.params,
    t: Object.fromEntries(Object.entries(c.tensors).map(([k, v]) => [k, decodeTensor(v)])),
  }));
}

/** The named tensor of a case, failing clearly when the fixture lacks it. */
export function fixtureTensor(c: FixtureCase, name: string): Tensor {
  const t = c.t[name];
  if (t === undefined) throw new Error(`fixture case '${c.name}' has no tensor '${name}'`);
  return t;
}

export interface Tolerance {
  rtol?: number;
  atol?: number;
}

/**
 * Asserts same shape, same dtype, and |actual - expected| <= atol + rtol * |expected| everywhere,
 * reporting the worst element.
 */
export function assertClose(actual: unknown, expected: Tensor, tol: Tolerance = {}, label = ''): void {
  const rtol = tol.rtol ?? 1e-4;
  const atol = tol.atol ?? 1e-5;
  const where = label ? `${label}: ` : '';
  assert.ok(actual instanceof Tensor, `${where}expected a Tensor, got ${String(actual)}`);
  assert.deepEqual([...actual.shape], [...expected.shape], `${where}shape`);
  assert.equal(actual.dtype, expected.dtype, `${where}dtype`);
  const a = Array.from(actual.data as ArrayLike<number | bigint>, Number);
  const e = Array.from(expected.data as ArrayLike<number | bigint>, Number);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < e.length; i++) {
    const excess = Math.abs(a[i]! - e[i]!) - (atol + rtol * Math.abs(e[i]!));
    if (excess > worstExcess || Number.isNaN(a[i]!) !== Number.isNaN(e[i]!)) {
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
      worst = i;
    }
  }
  assert.ok(
    worst < 0,
    `${where}element ${worst} is ${a[worst]}, PyTorch gives ${e[worst]} (rtol ${rtol}, atol ${atol})`,
  );
}
