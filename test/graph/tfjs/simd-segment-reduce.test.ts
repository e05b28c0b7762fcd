import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { initBackend } from '../../../src/graph/backend.ts';
import type { DirectBackend } from '../../../src/graph/tfjs/direct-ops.ts';
import { simdSegmentReduce } from '../../../src/graph/tfjs/simd-segment-reduce.ts';

/**
 * The SIMD SparseSegmentSum / Mean against tfjs-backend-wasm's own kernel, the implementation it stands in for:
 * the same float32 bits (NaN for NaN) on any data, ids and sorted segment ids with gaps and repeats, or undefined
 * where it leaves the work to tfjs; and nothing left on the heap.
 */
before(async () => {
  await initBackend();
});

const backend = () => tf.backend() as unknown as DirectBackend & { numDataIds(): number };

/** Float32 bit patterns, every NaN as one pattern (tfjs's scalar and this SIMD code may pick different NaNs). */
const bits = (v: Float32Array) =>
  Array.from(new Uint32Array(Float32Array.from(v, (x) => (Number.isNaN(x) ? NaN : x)).buffer));

const special = [0, -0, NaN, Infinity, -Infinity, 1e-45, -3.4e38, 3.4e38, 0.1, 1 / 3];

test('gives tfjs’s kernel’s bits for Sum and Mean, gaps and repeated runs included', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }),
      fc.constantFrom(4, 8, 32, 36),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 60 }),
      fc.array(fc.oneof(fc.float({ noDefaultInfinity: false }), fc.constantFrom(...special)), {
        minLength: 1,
        maxLength: 50,
      }),
      fc.boolean(),
      (rows, cols, picks, pool, mean) => {
        const values = Float32Array.from({ length: rows * cols }, (_, i) => pool[i % pool.length]!);
        // Segment ids: a running sum of the generated steps (0 repeats the id, more leaves gaps).
        let s = 0;
        const ids = Int32Array.from(picks, ([i]) => i % rows);
        const segs = Int32Array.from(picks, ([, step]) => (s += step));
        const before = backend().numDataIds();
        const [data, idx, seg] = [
          tf.tensor2d(values, [rows, cols]),
          tf.tensor1d(ids, 'int32'),
          tf.tensor1d(segs, 'int32'),
        ];
        try {
          const want = (mean ? tf.sparse.sparseSegmentMean : tf.sparse.sparseSegmentSum)(data, idx, seg);
          const info = simdSegmentReduce(backend(), data, idx, seg, mean);
          assert.ok(info);
          const got = tf.engine().makeTensorFromTensorInfo(info);
          assert.deepEqual(got.shape, want.shape);
          assert.deepEqual(bits(got.dataSync() as Float32Array), bits(want.dataSync() as Float32Array));
          tf.dispose([want, got]);
        } finally {
          tf.dispose([data, idx, seg]);
        }
        assert.equal(backend().numDataIds(), before);
      },
    ),
    { numRuns: 300 },
  );
});

test('leaves to tfjs’s kernel what it does not cover: rows not a multiple of 4 floats, int32 data, no ids', () => {
  const cases: [tf.Tensor, tf.Tensor][] = [
    [tf.ones([3, 6]), tf.tensor1d([0, 2], 'int32')],
    [tf.ones([3, 4], 'int32'), tf.tensor1d([0, 2], 'int32')],
    [tf.ones([3, 4]), tf.tensor1d([], 'int32')],
  ];
  for (const [data, idx] of cases) {
    const seg = tf.zeros([idx.shape[0]!], 'int32');
    assert.equal(simdSegmentReduce(backend(), data, idx, seg, true), undefined);
    tf.dispose([data, idx, seg]);
  }
});
