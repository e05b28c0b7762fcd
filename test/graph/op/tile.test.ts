import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../../src/graph/backend.ts';
import { runOp, text } from '../../helpers/run-op.ts';

before(() => initBackend());

// tf.tile's documented example (tensorflow/python/ops/array_ops.py): a = [[1,2,3],[4,5,6]], multiples [2, 2] →
// [[1,2,3,1,2,3],[4,5,6,4,5,6],[1,2,3,1,2,3],[4,5,6,4,5,6]]; string tensors tile the same way on their bytes.
test("Tile repeats strings along each axis as tf.tile's documented example does numbers", async () => {
  const words = ['1', '2', '3', '4', '5', '6'];
  const multiples = { dtype: 'DT_INT32' as const, shape: [2], values: [2, 2] };
  const [s] = await runOp('Tile', [{ dtype: 'DT_STRING', shape: [2, 3], values: words }, multiples], {});
  assert.deepEqual(s!.shape, [4, 6]);
  const rows = ['1,2,3,1,2,3', '4,5,6,4,5,6', '1,2,3,1,2,3', '4,5,6,4,5,6'];
  assert.deepEqual(text(s!.values), rows.join(',').split(','));
  const [n] = await runOp(
    'Tile',
    [{ dtype: 'DT_FLOAT', shape: [2, 3], values: [1, 2, 3, 4, 5, 6] }, multiples],
    {},
  );
  assert.deepEqual(n!.values, rows.join(',').split(',').map(Number));
  // an Estimator head's classes: ["0", "1"] tiled [batch, 1]
  const [c] = await runOp(
    'Tile',
    [
      { dtype: 'DT_STRING', shape: [1, 2], values: ['0', '1'] },
      { dtype: 'DT_INT32', shape: [2], values: [3, 1] },
    ],
    {},
  );
  assert.deepEqual(c!.shape, [3, 2]);
  assert.deepEqual(text(c!.values), ['0', '1', '0', '1', '0', '1']);
});
