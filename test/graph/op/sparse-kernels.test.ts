import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../../src/graph/backend.ts';
import { attr } from '../../../src/graph/builder/graph-builder.ts';
import { runOp, text, type OpInput } from '../../helpers/run-op.ts';

before(async () => {
  await initBackend();
});

const int = (shape: number[], values: number[]): OpInput => ({ dtype: 'DT_INT32', shape, values });
const float = (shape: number[], values: number[]): OpInput => ({ dtype: 'DT_FLOAT', shape, values });
const str = (shape: number[], values: string[]): OpInput => ({ dtype: 'DT_STRING', shape, values });

test('Bucketize: the example of its op documentation', async () => {
  // tf.raw_ops.Bucketize docs: boundaries [0, 10, 100], input [[-5, 10000], [150, 10], [5, 100]].
  const [out] = await runOp('Bucketize', [float([3, 2], [-5, 10000, 150, 10, 5, 100])], {
    T: attr.type('DT_FLOAT'),
    boundaries: { list: { f: [0, 10, 100] } },
  });
  assert.deepEqual(out!.values, [0, 3, 3, 2, 1, 3]);
  assert.deepEqual(out!.shape, [3, 2]);
});

test('SparseFillEmptyRows: the example of its op documentation, with string values', async () => {
  const outs = await runOp(
    'SparseFillEmptyRows',
    [int([4, 2], [0, 1, 0, 3, 2, 0, 3, 1]), str([4], ['a', 'b', 'c', 'd']), int([2], [5, 6]), str([], ['x'])],
    { T: attr.type('DT_STRING') },
    4,
  );
  assert.deepEqual(outs[0]!.values, [0, 1, 0, 3, 1, 0, 2, 0, 3, 1, 4, 0]);
  assert.deepEqual(text(outs[1]!.values), ['a', 'b', 'x', 'c', 'd', 'x']);
  assert.deepEqual(outs[2]!.values, [0, 1, 0, 0, 1]);
  assert.deepEqual(outs[3]!.values, [0, 1, 3, 4]);
  await assert.rejects(
    runOp(
      'SparseFillEmptyRows',
      [int([1, 2], [5, 0]), float([1], [1]), int([2], [5, 6]), float([], [0])],
      { T: attr.type('DT_FLOAT') },
      4,
    ),
    { code: 'CTR_ERR_INDEX_OUT_OF_RANGE' },
  );
});

const C = float([3, 4], [1, 2, 3, 4, -1, -2, -3, -4, 5, 6, 7, 8]);
const segment = async (op: string, indices: number[], segments: number[], num?: number) => {
  const inputs = [C, int([indices.length], indices), int([segments.length], segments)];
  if (num !== undefined) inputs.push(int([], [num]));
  const [out] = await runOp(op, inputs, { T: attr.type('DT_FLOAT') });
  return out!;
};

test('SparseSegmentSum/Mean/SqrtN and WithNumSegments: the examples of tf.sparse.segment_*', async () => {
  assert.deepEqual((await segment('SparseSegmentSum', [0, 1], [0, 0])).values, [0, 0, 0, 0]);
  assert.deepEqual((await segment('SparseSegmentSum', [0, 1], [0, 1])).values, [1, 2, 3, 4, -1, -2, -3, -4]);
  assert.deepEqual((await segment('SparseSegmentSum', [0, 2], [0, 1])).values, [1, 2, 3, 4, 5, 6, 7, 8]);
  const padded = await segment('SparseSegmentSumWithNumSegments', [0, 1], [0, 2], 4);
  assert.deepEqual(padded.values, [1, 2, 3, 4, 0, 0, 0, 0, -1, -2, -3, -4, 0, 0, 0, 0]);
  assert.deepEqual(padded.shape, [4, 4]);
  assert.deepEqual((await segment('SparseSegmentMean', [0, 2], [0, 0])).values, [3, 4, 5, 6]);
  const sqrtn = await segment('SparseSegmentSqrtN', [0, 2], [0, 0]);
  [6, 8, 10, 12].forEach((s, i) => assert.ok(Math.abs((sqrtn.values[i] as number) - s / Math.SQRT2) < 1e-5));
});

test('SparseSegment* refuse an index outside data, unsorted segment ids and ids past num_segments', async () => {
  await assert.rejects(segment('SparseSegmentSum', [0, 3], [0, 0]), { code: 'CTR_ERR_INDEX_OUT_OF_RANGE' });
  await assert.rejects(segment('SparseSegmentMean', [0, -1], [0, 0]), { code: 'CTR_ERR_INDEX_OUT_OF_RANGE' });
  await assert.rejects(segment('SparseSegmentSum', [0, 1], [1, 0]), { code: 'CTR_ERR_INVALID_ARGUMENT' });
  await assert.rejects(segment('SparseSegmentSumWithNumSegments', [0, 1], [0, 4], 4), {
    code: 'CTR_ERR_INDEX_OUT_OF_RANGE',
  });
});

test('SparseToDense: sparse_to_dense_op_test values, bounds and order checked before any write', async () => {
  const run = (indices: OpInput, shape: number[], values: OpInput, validate = true) =>
    runOp('SparseToDense', [indices, int([shape.length], shape), values, int([], [0])], {
      T: attr.type('DT_INT32'),
      Tindices: attr.type('DT_INT32'),
      validate_indices: attr.b(validate),
    });
  assert.deepEqual((await run(int([2], [1, 3]), [5], int([], [1])))[0]!.values, [0, 1, 0, 1, 0]);
  const [two] = await run(int([2, 2], [0, 1, 2, 0]), [3, 2], int([2], [7, 9]));
  assert.deepEqual(two!.values, [0, 7, 0, 0, 9, 0]);
  await assert.rejects(run(int([2], [1, 10]), [5], int([], [1])), { code: 'CTR_ERR_INDEX_OUT_OF_RANGE' });
  await assert.rejects(run(int([2], [1, 1]), [5], int([], [1])), /repeated/);
  await assert.rejects(run(int([2], [3, 1]), [5], int([], [1])), /out of order/);
  assert.deepEqual((await run(int([2], [3, 1]), [5], int([2], [4, 2]), false))[0]!.values, [0, 2, 0, 4, 0]);
});

test('Tile repeats string tensors on their bytes (wasm Tile aborts on strings) and numbers on tfjs', async () => {
  const [flat] = await runOp('Tile', [str([2], ['a', 'b']), int([1], [2])], { T: attr.type('DT_STRING') });
  assert.deepEqual(text(flat!.values), ['a', 'b', 'a', 'b']);
  const [grid] = await runOp('Tile', [str([2, 1], ['a', 'b']), int([2], [1, 3])], {
    T: attr.type('DT_STRING'),
  });
  assert.deepEqual(text(grid!.values), ['a', 'a', 'a', 'b', 'b', 'b']);
  assert.deepEqual(grid!.shape, [2, 3]);
  const [num] = await runOp('Tile', [float([2], [1, 2]), int([1], [2])], { T: attr.type('DT_FLOAT') });
  assert.deepEqual(num!.values, [1, 2, 1, 2]);
  await assert.rejects(runOp('Tile', [float([2], [1, 2]), int([1], [-1])], { T: attr.type('DT_FLOAT') }), {
    code: 'CTR_ERR_INVALID_ARGUMENT',
  });
});
