import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/graph/backend.ts';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import type { GraphDef } from '../../../src/graph/proto/types.ts';
import { rewriteEmbeddingLookups } from '../../../src/graph/rewrite/embedding-lookup.ts';
import { randomFloats, randomHistories, rng } from '../../helpers/random.ts';
import { runGraph } from '../../helpers/run-graph.ts';

before(async () => {
  await initBackend('wasm');
});

function lookupGraph(idsShape: number[], dim: number[]): GraphDef {
  const g = new GraphBuilder();
  const ids = g.placeholder('ids', 'DT_INT32', idsShape);
  const size = dim.reduce((a, b) => a * b, 1);
  const E = g.constant('DT_FLOAT', [11, ...dim], randomFloats(rng(5), 11 * size), { name: 'E' });
  g.identity(g.gatherV2(E, ids, 0, { name: 'lookup' }), { name: 'out' });
  return g.toGraphDef();
}

const cases: { ids: number[]; dim: number[]; feed: (b: number) => number[] }[] = [
  { ids: [-1], dim: [4], feed: (b) => [b] },
  { ids: [-1, 3], dim: [4], feed: (b) => [b, 3] },
  { ids: [-1, -1], dim: [2, 3], feed: (b) => [b, 5] },
];

for (const c of cases) {
  test(`a lookup of ids ${JSON.stringify(c.ids)} in rows of ${JSON.stringify(c.dim)} becomes a one-row-per-segment sum with identical values and shape`, async () => {
    const graph = lookupGraph(c.ids, c.dim);
    const rewritten = rewriteEmbeddingLookups(graph);
    assert.ok(!rewritten.node.some((n) => n.op === 'GatherV2'));
    assert.ok(rewritten.node.some((n) => n.op === 'SparseSegmentSum'));
    const before = tf.memory().numTensors;
    for (const batch of [1, 2, 33]) {
      const shape = c.feed(batch);
      const n = shape.reduce((a, b) => a * b, 1);
      const values = randomHistories(rng(batch), 1, n, 11);
      const [want] = await runGraph(graph, { ids: { values, shape } }, ['out']);
      const [got] = await runGraph(rewritten, { ids: { values, shape } }, ['out']);
      assert.deepEqual(got.shape, want.shape);
      assert.deepEqual(Array.from(got), Array.from(want), 'a one-element sum is the element itself');
    }
    assert.equal(tf.memory().numTensors, before);
  });
}

test('an out-of-range id still fails after the rewrite, as the gather did', async () => {
  const rewritten = rewriteEmbeddingLookups(lookupGraph([-1], [4]));
  await assert.rejects(
    runGraph(rewritten, { ids: { values: Int32Array.from([1, 11]), shape: [2] } }, ['out']),
  );
});

test('a gather along another axis, of int values or of unknown-rank ids is left alone', () => {
  const g = new GraphBuilder();
  const ids = g.placeholder('ids', 'DT_INT32', [-1]);
  const E = g.constant('DT_FLOAT', [11, 4], new Float32Array(44), { name: 'E' });
  g.gatherV2(E, ids, 1);
  g.gatherV2(g.constant('DT_INT32', [11, 2], new Int32Array(22)), ids, 0);
  g.gatherV2(E, g.placeholder('any', 'DT_INT32', null), 0);
  const graph = g.toGraphDef();
  assert.equal(rewriteEmbeddingLookups(graph), graph);
});
