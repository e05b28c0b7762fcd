import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { kernelsDuring } from '../../helpers/kernels-during.ts';
import { initBackend } from '../../../src/graph/backend.ts';
import { attr } from '../../../src/graph/builder/graph-builder.ts';
import type { AttrValue } from '../../../src/graph/proto/types.ts';
import { rng } from '../../helpers/random.ts';
import { runOp, text, type OpInput } from '../../helpers/run-op.ts';

/**
 * The index-checking kernels of the op registry (src/graph/op/gather.ts, scatter-gather-nd.ts), run as one-op
 * graphs through compileGraph: in-range results equal TensorFlow's documented examples and a reference written
 * here from the ops' definitions; an index outside its table is refused with TensorFlow's message before the
 * backend's kernel is called (counted on the engine), and no tensor is left behind.
 */
before(async () => {
  await initBackend('wasm');
});

const int = (shape: number[], values: number[]): OpInput => ({ dtype: 'DT_INT32', shape, values });
const float = (shape: number[], values: number[]): OpInput => ({ dtype: 'DT_FLOAT', shape, values });
const str = (shape: number[], values: string[]): OpInput => ({ dtype: 'DT_STRING', shape, values });

const gatherAttrs = (batchDims = 0): Record<string, AttrValue> => ({
  Tparams: attr.type('DT_FLOAT'),
  Tindices: attr.type('DT_INT32'),
  Taxis: attr.type('DT_INT32'),
  batch_dims: attr.i(batchDims),
});

/** Runs `op`, expects CTR_ERR_INDEX_OUT_OF_RANGE with `message`, no call of `kernel`, and no tensor left. */
async function refused(
  op: string,
  inputs: OpInput[],
  attrs: Record<string, AttrValue>,
  kernel: string,
  message: string,
): Promise<void> {
  const start = tf.memory().numTensors;
  const { names, error } = await kernelsDuring(() => runOp(op, inputs, attrs));
  assert.equal((error as { code?: string })?.code, 'CTR_ERR_INDEX_OUT_OF_RANGE', String(error));
  assert.equal((error as Error).message, `${op} node op: ${message}`);
  assert.ok(!names.includes(kernel), `${kernel} ran: ${names.join(', ')}`);
  assert.equal(tf.memory().numTensors, start);
}

/** tf.gather by its definition (tensorflow/core/ops/array_ops.cc, GatherV2), on flat row-major arrays. */
function referenceGather(
  params: { shape: number[]; values: number[] },
  indices: { shape: number[]; values: number[] },
  axis: number,
  batchDims: number,
): { shape: number[]; values: number[] } {
  const p = params.shape;
  const prod = (d: number[]) => d.reduce((a, b) => a * b, 1);
  const batch = prod(p.slice(0, batchDims));
  const outer = prod(p.slice(batchDims, axis));
  const inner = prod(p.slice(axis + 1));
  const per = indices.values.length / batch;
  const values: number[] = [];
  for (let b = 0; b < batch; b++)
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < per; i++)
        for (let s = 0; s < inner; s++) {
          const row = indices.values[b * per + i]!;
          values.push(params.values[((b * outer + o) * p[axis]! + row) * inner + s]!);
        }
  return { shape: [...p.slice(0, axis), ...indices.shape.slice(batchDims), ...p.slice(axis + 1)], values };
}

describe('GatherV2', () => {
  test('the examples of tf.gather', async () => {
    // tf.gather docs: params [[0,1,2],[10,11,12],[20,21,22],[30,31,32]]; indices [3,1]; then axis=1 [2,1].
    const params = float([4, 3], [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]);
    const [rows] = await runOp('GatherV2', [params, int([2], [3, 1]), int([], [0])], gatherAttrs());
    assert.deepEqual(rows!.values, [30, 31, 32, 10, 11, 12]);
    assert.deepEqual(rows!.shape, [2, 3]);
    const [cols] = await runOp('GatherV2', [params, int([2], [2, 1]), int([], [1])], gatherAttrs());
    assert.deepEqual(cols!.values, [2, 1, 12, 11, 22, 21, 32, 31]);
    // batch_dims=1: params [[1,2,3],[4,5,6]], indices [[2,0],[1,2]] → [[3,1],[5,6]] (tf.gather docs).
    const batched = [float([2, 3], [1, 2, 3, 4, 5, 6]), int([2, 2], [2, 0, 1, 2]), int([], [1])];
    const [b1] = await runOp('GatherV2', batched, gatherAttrs(1));
    assert.deepEqual(b1!.values, [3, 1, 5, 6]);
  });

  test('random shapes, axes (negative too) and batch_dims equal the definition', async () => {
    const next = rng(9);
    const draw = (n: number) => Math.floor(next() * n);
    for (let trial = 0; trial < 40; trial++) {
      const rank = 1 + draw(3);
      const shape = Array.from({ length: rank }, () => 1 + draw(4));
      const batchDims = draw(rank);
      const axis = batchDims + draw(rank - batchDims);
      const idxShape = [...shape.slice(0, batchDims), ...Array.from({ length: draw(3) }, () => 1 + draw(3))];
      const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
      const params = { shape, values: Array.from({ length: size(shape) }, (_, i) => i * 10 + 1) };
      const indices = {
        shape: idxShape,
        values: Array.from({ length: size(idxShape) }, () => draw(shape[axis]!)),
      };
      const axisGiven = next() < 0.5 ? axis : axis - rank;
      const negative = batchDims > 0 && idxShape.length > batchDims && next() < 0.5;
      const batchGiven = negative ? batchDims - idxShape.length : batchDims;
      const [out] = await runOp(
        'GatherV2',
        [float(shape, params.values), int(idxShape, indices.values), int([], [axisGiven])],
        gatherAttrs(batchGiven),
      );
      const want = referenceGather(params, indices, axis, batchDims);
      assert.deepEqual({ shape: out!.shape, values: out!.values }, want, `trial ${trial}`);
    }
  });

  test('string params are gathered on their bytes', async () => {
    const [out] = await runOp(
      'GatherV2',
      [str([2, 2], ['a', 'b', 'c', 'd']), int([3], [1, 0, 1]), int([], [1])],
      { ...gatherAttrs(), Tparams: attr.type('DT_STRING') },
    );
    assert.deepEqual(text(out!.values), ['b', 'a', 'b', 'd', 'c', 'd']);
    assert.deepEqual(out!.shape, [2, 3]);
  });

  test("an index outside the axis is refused before tfjs's kernel, in TensorFlow's words", async () => {
    const params = float(
      [4, 3],
      Array.from({ length: 12 }, (_, i) => i),
    );
    for (const [bad, at] of [
      [4, '[1,0]'],
      [-1, '[1,0]'],
      [1_000_000_000, '[1,0]'],
    ] as const) {
      await refused(
        'GatherV2',
        [params, int([2, 2], [0, 1, bad, 2]), int([], [0])],
        gatherAttrs(),
        'GatherV2',
        `indices${at} = ${bad} is not in [0, 4)`,
      );
    }
    // On axis 1 the limit is the columns; with batch_dims the gathered axis is still the limit.
    await refused(
      'GatherV2',
      [params, int([1], [3]), int([], [-1])],
      gatherAttrs(),
      'GatherV2',
      'indices[0] = 3 is not in [0, 3)',
    );
    await refused(
      'GatherV2',
      [float([2, 3], [1, 2, 3, 4, 5, 6]), int([2, 2], [2, 0, 1, 3]), int([], [1])],
      gatherAttrs(1),
      'GatherV2',
      'indices[1,1] = 3 is not in [0, 3)',
    );
  });

  test('a proof made for another table size does not skip the check', async () => {
    await refused(
      'GatherV2',
      [float([3], [1, 2, 3]), int([1], [5]), int([], [0])],
      { ...gatherAttrs(), _ctr_indices_proven: attr.i(100) },
      'GatherV2',
      'indices[0] = 5 is not in [0, 3)',
    );
  });

  test('TF1 Gather and ResourceGather read axis 0 (ResourceGather: axis = batch_dims)', async () => {
    const params = float([3, 2], [1, 2, 3, 4, 5, 6]);
    const v1 = { Tparams: attr.type('DT_FLOAT'), Tindices: attr.type('DT_INT32') };
    const [g] = await runOp('Gather', [params, int([2], [2, 0])], v1);
    assert.deepEqual(g!.values, [5, 6, 1, 2]);
    const rg = { dtype: attr.type('DT_FLOAT'), Tindices: attr.type('DT_INT32'), batch_dims: attr.i(1) };
    const [r] = await runOp('ResourceGather', [params, int([3, 1], [1, 0, 1])], rg);
    assert.deepEqual(r!.values, [2, 3, 6]);
    await refused('Gather', [params, int([1], [3])], v1, 'GatherV2', 'indices[0] = 3 is not in [0, 3)');
    await refused(
      'ResourceGather',
      [params, int([3, 1], [1, 2, 0])],
      rg,
      'GatherV2',
      'indices[1,0] = 2 is not in [0, 2)',
    );
  });
});

describe('GatherNd, ScatterNd, TensorScatterUpdate', () => {
  const ndAttrs = (t: 'DT_FLOAT' | 'DT_STRING') => ({
    Tparams: attr.type(t),
    Tindices: attr.type('DT_INT32'),
  });
  const scatterAttrs = { T: attr.type('DT_FLOAT'), Tindices: attr.type('DT_INT32') };

  test('the examples of tf.gather_nd', async () => {
    const params = str([2, 2], ['a', 'b', 'c', 'd']);
    const [elements] = await runOp('GatherNd', [params, int([2, 2], [0, 0, 1, 1])], ndAttrs('DT_STRING'));
    assert.deepEqual(text(elements!.values), ['a', 'd']);
    const [rows] = await runOp('GatherNd', [params, int([2, 1], [1, 0])], ndAttrs('DT_STRING'));
    assert.deepEqual(text(rows!.values), ['c', 'd', 'a', 'b']);
    assert.deepEqual(rows!.shape, [2, 2]);
    const numbers = float([2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
    const [slices] = await runOp('GatherNd', [numbers, int([2, 2], [0, 1, 1, 0])], ndAttrs('DT_FLOAT'));
    assert.deepEqual(slices!.values, [2, 3, 4, 5]);
  });

  test('the examples of tf.scatter_nd and tf.tensor_scatter_nd_update', async () => {
    const indices = int([4, 1], [4, 3, 1, 7]);
    const updates = float([4], [9, 10, 11, 12]);
    const [scattered] = await runOp('ScatterNd', [indices, updates, int([1], [8])], scatterAttrs);
    assert.deepEqual(scattered!.values, [0, 11, 0, 10, 9, 0, 0, 12]);
    const [updated] = await runOp(
      'TensorScatterUpdate',
      [float([8], [1, 2, 3, 4, 5, 6, 7, 8]), int([4, 1], [4, 3, 1, 7]), updates],
      scatterAttrs,
    );
    assert.deepEqual(updated!.values, [1, 11, 3, 10, 9, 6, 7, 12]);
  });

  test("rows outside the shape are refused before tfjs's kernel, in TensorFlow's words", async () => {
    const params = float([3, 2], [1, 2, 3, 4, 5, 6]);
    await refused(
      'GatherNd',
      [params, int([2, 2], [0, 1, 5, 0])],
      ndAttrs('DT_FLOAT'),
      'GatherNd',
      'indices[1] = [5, 0] does not index into param shape [3,2]',
    );
    await refused(
      'GatherNd',
      [params, int([1, 1, 2], [2, -1])],
      ndAttrs('DT_FLOAT'),
      'GatherNd',
      'indices[0,0] = [2, -1] does not index into param shape [3,2]',
    );
    await refused(
      'ScatterNd',
      [int([2, 1], [1, 8]), float([2], [1, 1]), int([1], [8])],
      scatterAttrs,
      'ScatterNd',
      'indices[1] = [8] does not index into shape [8]',
    );
    await refused(
      'TensorScatterUpdate',
      [float([4], [0, 0, 0, 0]), int([1, 1], [-3]), float([1], [1])],
      scatterAttrs,
      'TensorScatterUpdate',
      'indices[0] = [-3] does not index into shape [4]',
    );
  });
});
