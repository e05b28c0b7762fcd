import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { loadBenchReference, type BenchReference } from '../../../bench/reference.ts';
import { initBackend } from '../../../src/graph/backend.ts';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import type { GraphDef } from '../../../src/graph/proto/types.ts';
import { rewriteGraph, rewriteSharedHistoryGraph } from '../../../src/graph/rewrite/rewrite-graph.ts';
import { shareHistory } from '../../../src/graph/rewrite/share-history.ts';
import { BENCH_REFERENCE, assertClose, skipWithoutBenchReference } from '../../helpers/fixtures.ts';
import { randomFloats, randomHistories, rng } from '../../helpers/random.ts';
import { runGraph } from '../../helpers/run-graph.ts';

let ref: BenchReference;
before(async () => {
  await initBackend('wasm');
  if (!skipWithoutBenchReference) ref = await loadBenchReference(BENCH_REFERENCE);
});

const SHARE = { history: 'history', userIndex: 'user_index' };
const KEEP = ['history', 'candidate', 'ctr', 'logit'];

/** Users' histories [U, L] and candidates per user → the per-row feeds of the original graph and the shared ones. */
function ctrFeeds(histories: Int32Array, L: number, candidates: Int32Array[]) {
  const rows = candidates.reduce((a, c) => a + c.length, 0);
  const perRow = new Int32Array(rows * L);
  const userIndex = new Int32Array(rows);
  let r = 0;
  candidates.forEach((list, u) => {
    for (let j = 0; j < list.length; j++, r++) {
      perRow.set(histories.subarray(u * L, (u + 1) * L), r * L);
      userIndex[r] = u;
    }
  });
  const candidate = { values: Int32Array.from(candidates.flatMap((c) => Array.from(c))), shape: [rows] };
  return {
    original: { history: { values: perRow, shape: [rows, L] }, candidate },
    shared: {
      history: { values: histories, shape: [candidates.length, L] },
      candidate,
      user_index: { values: userIndex, shape: [rows] },
    },
  };
}

const ids = (seed: number, n: number, vocab: number) =>
  Int32Array.from({ length: n }, (_, i) => 1 + ((seed * 7919 + i * 104729) % (vocab - 1)));

test(
  'the reference student computes the pooled history once per user and predicts what the per-row graph predicts',
  { skip: skipWithoutBenchReference },
  async () => {
    const shared = rewriteSharedHistoryGraph(ref.graph, SHARE, { keepNodes: KEEP });
    assert.ok(shared);
    assert.deepEqual(shared.frontier, ['history_mean']);
    const perRow = rewriteGraph(ref.graph, { keepNodes: KEEP });
    const L = ref.historyLength;
    const before = tf.memory().numTensors;
    for (const counts of [[1000], [1], [1, 7, 40]]) {
      const histories = ref.history.subarray(0, counts.length * L);
      const feeds = ctrFeeds(
        histories,
        L,
        counts.map((n, u) => ids(u, n, ref.meta.V)),
      );
      const want = await runGraph(ref.graph, feeds.original, ['ctr', 'logit']);
      const got = await runGraph(shared.graph, feeds.shared, ['ctr', 'logit']);
      const fast = await runGraph(perRow, feeds.original, ['ctr']);
      assertClose(got[0], want[0], 1e-5, 1e-6);
      assertClose(got[1], want[1], 1e-5, 1e-6);
      assertClose(fast[0], want[0], 1e-5, 1e-6);
    }
    assert.equal(tf.memory().numTensors, before);
  },
);

/** A two-tower CTR model: masked mean of the history → user tower MLP; candidate embedding; dot → sigmoid. */
function twoTower(seed: number, userTowerOutputKept = false): GraphDef {
  const next = rng(seed);
  const g = new GraphBuilder();
  const history = g.placeholder('history', 'DT_INT32', [-1, 6]);
  const candidate = g.placeholder('candidate', 'DT_INT32', [-1]);
  const E = g.constant('DT_FLOAT', [30, 4], randomFloats(next, 120), { name: 'E' });
  const mask = g.expandDims(g.cast(g.notEqual(history, g.constant('DT_INT32', [], [0])), 'DT_FLOAT'), -1);
  const summed = g.sum(g.mul(g.gatherV2(E, history, 0), mask), 1);
  const count = g.maximum(g.sum(mask, 1), g.constant('DT_FLOAT', [], [1]));
  const pooled = g.realDiv(summed, count);
  const k = g.constant('DT_FLOAT', [4, 4], randomFloats(next, 16));
  const user = g.relu(g.biasAdd(g.matMul(pooled, k), g.constant('DT_FLOAT', [4], randomFloats(next, 4))), {
    name: 'user_tower',
  });
  if (userTowerOutputKept) g.identity(user, { name: 'user_vector' });
  const item = g.gatherV2(E, candidate, 0);
  const logit = g.sum(g.mul(user, item), 1, { name: 'logit' });
  g.sigmoid(logit, { name: 'ctr' });
  return g.toGraphDef();
}

test('a two-tower model shares its user tower and stays equal for one, two and five users', async () => {
  const graph = twoTower(3);
  const shared = rewriteSharedHistoryGraph(graph, SHARE, { keepNodes: KEEP });
  assert.ok(shared);
  assert.deepEqual(shared.frontier, ['user_tower']);
  for (const counts of [[9], [1, 3], [2, 1, 5, 1, 8]]) {
    const histories = randomHistories(rng(counts.length), counts.length, 6, 30);
    const feeds = ctrFeeds(
      histories,
      6,
      counts.map((n, u) => ids(u + 3, n, 30)),
    );
    const [want] = await runGraph(graph, feeds.original, ['ctr']);
    const [got] = await runGraph(shared.graph, feeds.shared, ['ctr']);
    assertClose(got, want, 1e-5, 1e-6);
  }
});

test('an output computed from the history alone keeps its name and gives one row per candidate', async () => {
  const graph = twoTower(4, true);
  const shared = shareHistory(graph, { ...SHARE, keepNodes: [...KEEP, 'user_vector'] });
  assert.ok(shared);
  assert.ok(shared.frontier.includes('user_vector'));
  const feeds = ctrFeeds(randomHistories(rng(9), 2, 6, 30), 6, [ids(1, 2, 30), ids(2, 3, 30)]);
  const [want] = await runGraph(graph, feeds.original, ['user_vector']);
  const [got] = await runGraph(shared.graph, feeds.shared, ['user_vector']);
  assert.deepEqual(got.shape, [5, 4]);
  assertClose(got, want, 1e-6, 1e-7);
});

test('a history branch that mixes rows (a reduction over the batch, a reshape) is not shared', () => {
  for (const mix of ['batch_sum', 'reshape'] as const) {
    const g = new GraphBuilder();
    const history = g.placeholder('history', 'DT_INT32', [-1, 6]);
    const candidate = g.placeholder('candidate', 'DT_INT32', [-1]);
    const E = g.constant('DT_FLOAT', [30, 4], new Float32Array(120), { name: 'E' });
    let h = g.mean(g.gatherV2(E, history, 0), 1);
    h = mix === 'batch_sum' ? g.sub(h, g.mean(h, 0, { keepDims: true })) : g.reshape(h, [-1, 2]);
    g.identity(g.concatV2([h, g.gatherV2(E, candidate, 0)], 1), { name: 'out' });
    assert.equal(shareHistory(g.toGraphDef(), { ...SHARE, keepNodes: ['out'] }), undefined, mix);
  }
});

test('a graph whose raw history ids meet the candidate directly has nothing to share', () => {
  const g = new GraphBuilder();
  const history = g.placeholder('history', 'DT_INT32', [-1, 6]);
  const candidate = g.placeholder('candidate', 'DT_INT32', [-1]);
  g.identity(g.equal(history, g.expandDims(candidate, 1)), { name: 'seen' });
  assert.equal(shareHistory(g.toGraphDef(), SHARE), undefined);
});
