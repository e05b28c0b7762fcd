import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/graph/backend.ts';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import type { GraphDef } from '../../../src/graph/proto/types.ts';
import { rewriteGraph } from '../../../src/graph/rewrite/index.ts';
import { SegmentRowsCache, segmentFeedsOf } from '../../../src/graph/tfjs/segment-feeds.ts';
import { assertClose } from '../../helpers/fixtures.ts';
import { randomFloats, randomHistories, rng } from '../../helpers/random.ts';
import { runGraph } from '../../helpers/run-graph.ts';

before(async () => {
  await initBackend('wasm');
});

const V = 23;
const D = 4;
const L = 6;

/** A CTR student's input layer: mean of the history's embeddings, concatenated with the candidate's. */
function studentGraph(): GraphDef {
  const next = rng(7);
  const g = new GraphBuilder();
  const history = g.placeholder('history', 'DT_INT32', [-1, L]);
  const candidate = g.placeholder('candidate', 'DT_INT32', [-1]);
  const E = g.constant('DT_FLOAT', [V, D], randomFloats(next, V * D), { name: 'E' });
  const bag = g.mean(g.gatherV2(E, history, 0), 1, { name: 'bag' });
  const item = g.gatherV2(E, candidate, 0, { name: 'item' });
  g.identity(g.concatV2([bag, item], 1), { name: 'out' });
  return g.toGraphDef();
}

function rowsOf(cache: SegmentRowsCache, values: Int32Array, shape: number[], axis: number): Int32Array {
  const ids = tf.tensor(values, shape, 'int32');
  const rows = cache.tensorFor(ids, axis);
  try {
    return rows.dataSync() as Int32Array;
  } finally {
    tf.dispose([ids, rows]);
  }
}

test('segment rows number each group of ids from the given axis on, and each id alone past the last axis', () => {
  const cache = new SegmentRowsCache();
  const ids = new Int32Array(6);
  assert.deepEqual([...rowsOf(cache, ids, [2, 3], 1)], [0, 0, 0, 1, 1, 1]);
  assert.deepEqual([...rowsOf(cache, ids, [3, 2], 1)], [0, 0, 1, 1, 2, 2]);
  assert.deepEqual([...rowsOf(cache, ids, [6], 1)], [0, 1, 2, 3, 4, 5]);
  assert.deepEqual([...rowsOf(cache, ids.subarray(0, 0), [0, 3], 1)], []);
});

test('the rows cache stays correct past its size limit, for many batch sizes in turn', () => {
  const cache = new SegmentRowsCache();
  for (let round = 0; round < 2; round++) {
    for (let batch = 1; batch <= 20; batch++) {
      const rows = rowsOf(cache, new Int32Array(batch * 3), [batch, 3], 1);
      assert.deepEqual(
        [...rows],
        Array.from({ length: batch * 3 }, (_, i) => Math.floor(i / 3)),
      );
    }
  }
});

test('with fed segment rows the rewritten graph has no in-graph row ops and equals the unrewritten one at batch 1, 3 and 40', async () => {
  const graph = studentGraph();
  const keepNodes = ['history', 'candidate', 'out'];
  const fed = rewriteGraph(graph, { keepNodes, feedSegmentRows: true });
  const ops = fed.node.map((n) => n.op);
  assert.ok(ops.includes('SparseSegmentMean') && ops.includes('SparseSegmentSum'));
  for (const op of ['Range', 'Cast', 'Shape', 'Size', 'GatherV2'])
    assert.ok(!ops.includes(op), `${op} is gone`);
  const feeds = segmentFeedsOf(fed);
  assert.deepEqual(
    feeds.map((f) => [f.of, f.axis]),
    [
      ['history', 1],
      ['candidate', 1],
    ],
  );
  const cache = new SegmentRowsCache();
  const before = tf.memory().numTensors;
  for (const batch of [1, 3, 40]) {
    const history = randomHistories(rng(batch), batch, L, V);
    const candidate = Int32Array.from({ length: batch }, (_, i) => (i * 5) % V);
    const inputs = {
      history: { values: history, shape: [batch, L] },
      candidate: { values: candidate, shape: [batch] },
    };
    const shapes: Record<string, number[]> = { history: [batch, L], candidate: [batch] };
    const extra = Object.fromEntries(
      feeds.map((f) => {
        const values = rowsOf(cache, inputs[f.of as 'history'].values, shapes[f.of], f.axis);
        return [f.placeholder, { values, shape: [values.length] }];
      }),
    );
    const [want] = await runGraph(graph, inputs, ['out']);
    const [got] = await runGraph(fed, { ...inputs, ...extra }, ['out']);
    assertClose(got, want, 1e-5, 1e-6);
  }
  assert.equal(tf.memory().numTensors, before);
});

test('segment ids of ids computed inside the graph stay in-graph ops', () => {
  const g = new GraphBuilder();
  const raw = g.placeholder('raw', 'DT_INT32', [-1, L]);
  const E = g.constant('DT_FLOAT', [V, D], randomFloats(rng(3), V * D), { name: 'E' });
  const ids = g.identity(raw, { name: 'ids' });
  g.identity(g.mean(g.gatherV2(E, ids, 0), 1), { name: 'out' });
  const fed = rewriteGraph(g.toGraphDef(), { keepNodes: ['raw', 'out'], feedSegmentRows: true });
  assert.deepEqual(segmentFeedsOf(fed), []);
  assert.ok(fed.node.some((n) => n.op === 'SparseSegmentMean'));
});
