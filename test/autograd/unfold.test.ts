import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as F from '../../src/ops/functional.js';
import '../../src/ops/tensor-methods.js';
import { arange, randn } from '../../src/tensor/creation.js';
import { assertClose } from '../helpers/compare-with-torch.js';
import { gradcheck } from '../helpers/gradcheck.js';

describe('unfold (im2col)', () => {
  it("lays patches out as torch's F.unfold: a convolution is a product with them", () => {
    for (const options of [{}, { stride: 2, padding: 1 }, { dilation: 2, padding: [2, 1] as [number, number] }]) {
      const x = randn([2, 3, 9, 8]);
      const w = randn([4, 3, 3, 2]);
      const columns = F.unfold(x, [3, 2], options);
      const y = F.conv2d(x, w, null, options);
      const product = F.matmul(F.reshape(w, [4, 18]), columns);
      assertClose(product, F.reshape(y, [2, 4, -1]), { rtol: 1e-4, atol: 1e-5 }, JSON.stringify(options));
    }
    // Row c·kH·kW + i·kW + j holds channel c's kernel position (i, j); columns go row by row.
    const image = F.reshape(arange(16, undefined, 1, { dtype: 'float32' }), [1, 1, 4, 4]);
    assert.deepEqual(F.unfold(image, 2, { stride: 2 }).toArray(), [
      [
        [0, 2, 8, 10],
        [1, 3, 9, 11],
        [4, 6, 12, 14],
        [5, 7, 13, 15],
      ],
    ]);
  });

  it('differentiates as col2im: finite differences, strides and sizes that leave pixels unread', () => {
    gradcheck((x) => F.unfold(x, 2, { stride: 2, padding: 1 }), [randn([1, 2, 5, 4])]);
    gradcheck((x) => F.unfold(x, [2, 3], { dilation: [2, 1] }), [randn([2, 1, 5, 5])]);
  });

  it('refuses an input smaller than one patch', () => {
    assert.throws(
      () => F.unfold(randn([1, 1, 2, 2]), 3),
      /\[unfold\] input of size \[2, 2\] is too small for kernel 3x3/,
    );
  });
});
