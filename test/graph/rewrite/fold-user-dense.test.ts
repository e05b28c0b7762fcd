import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { writeReferenceRepo } from '../../../bench/model-repo.ts';
import { loadBenchReference, type BenchReference } from '../../../bench/reference.ts';
import { initBackend } from '../../../src/graph/backend.ts';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { loadCtrModel, sharedHistorySpec } from '../../../src/ctr/shared-history-variant.ts';
import type { GraphDef } from '../../../src/graph/proto/types.ts';
import { foldUserDense, userDenseProbes } from '../../../src/graph/rewrite/fold-user-dense.ts';
import { rewriteSharedHistoryGraph } from '../../../src/graph/rewrite/rewrite-graph.ts';
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
const V = 40;
const L = 5;

type Layout = 'full' | 'swapped' | 'no-bias' | 'user-twice' | 'rows-only';

/**
 * A pooled CTR student: h = mean of the history's embeddings, c = the candidate's, a first dense layer on a concat
 * of them (its layout varies), a second dense layer, sigmoid.
 */
function student(layout: Layout, seed: number): GraphDef {
  const next = rng(seed);
  const g = new GraphBuilder();
  const history = g.placeholder('history', 'DT_INT32', [-1, L]);
  const candidate = g.placeholder('candidate', 'DT_INT32', [-1]);
  const E = g.constant('DT_FLOAT', [V, 4], randomFloats(next, V * 4), { name: 'E' });
  const h = g.mean(g.gatherV2(E, history, 0), 1, { name: 'history_mean' });
  const c = g.gatherV2(E, candidate, 0);
  const parts = {
    full: () => [h, c, g.mul(h, c), g.abs(g.sub(h, c))],
    swapped: () => [g.mul(c, h), c, h],
    'no-bias': () => [c, g.mul(h, c)],
    'user-twice': () => [h, g.mul(h, c), h, c, g.mul(c, h)],
    'rows-only': () => [c, g.mul(c, c)],
  }[layout]();
  const x = g.concatV2(parts, 1);
  const W1 = g.constant('DT_FLOAT', [parts.length * 4, 6], randomFloats(next, parts.length * 24));
  const z1 =
    layout === 'no-bias'
      ? g.matMul(x, W1)
      : g.relu(g.biasAdd(g.matMul(x, W1), g.constant('DT_FLOAT', [6], randomFloats(next, 6))));
  const W2 = g.constant('DT_FLOAT', [6, 1], randomFloats(next, 6));
  const name = { name: 'logit' };
  const dense2 = g.biasAdd(
    g.matMul(z1, W2),
    g.constant('DT_FLOAT', [1], [0.1]),
    layout === 'rows-only' ? {} : name,
  );
  // rows-only: the user enters after the dense layer only.
  const logit = layout === 'rows-only' ? g.add(dense2, g.sum(h, 1, { keepDims: true }), name) : dense2;
  g.sigmoid(logit, { name: 'ctr' });
  return g.toGraphDef();
}

/** The shared-history graph of `graph`, folded the way loadModel folds it (shapes probed with 1 user, 2 rows). */
async function folded(graph: GraphDef) {
  const shared = rewriteSharedHistoryGraph(graph, SHARE, { keepNodes: KEEP });
  assert.ok(shared, 'the history is shared');
  const probes = userDenseProbes(shared.graph, shared.frontier);
  const probeFeeds = {
    history: { values: new Int32Array(L), shape: [1, L] },
    candidate: { values: new Int32Array(2), shape: [2] },
    user_index: { values: new Int32Array(2), shape: [2] },
  };
  const measured = probes.length ? await runGraph(shared.graph, probeFeeds, probes) : [];
  const shapes = new Map(probes.map((p, i) => [p, measured[i]!.shape]));
  return {
    shared,
    fold: foldUserDense(shared.graph, { frontier: shared.frontier, shapes, outputs: ['ctr', 'logit'] }),
  };
}

test("every foldable layout gives the per-row graph's outputs for one user, and the plain outputs stay for several", async () => {
  const before = tf.memory().numTensors;
  for (const [k, layout] of (['full', 'swapped', 'no-bias', 'user-twice'] as const).entries()) {
    const graph = student(layout, 10 + k);
    const { fold } = await folded(graph);
    assert.ok(fold, `${layout}: folded`);
    assert.equal(fold.folded.length, 1, layout);
    const ctr = fold.outputs.get('ctr')!;
    const logit = fold.outputs.get('logit')!;
    assert.notEqual(ctr, 'ctr', `${layout}: ctr has a one-user counterpart`);
    for (const n of [1, 3, 17]) {
      const history = randomHistories(rng(n + k), 1, L, V);
      const candidates = Int32Array.from({ length: n }, (_, i) => (i * 7 + k) % V);
      const perRow = new Int32Array(n * L);
      for (let i = 0; i < n; i++) perRow.set(history, i * L);
      const want = await runGraph(
        graph,
        { history: { values: perRow, shape: [n, L] }, candidate: { values: candidates, shape: [n] } },
        ['ctr', 'logit'],
      );
      const got = await runGraph(
        fold.graph,
        {
          history: { values: history, shape: [1, L] },
          candidate: { values: candidates, shape: [n] },
          user_index: { values: new Int32Array(n), shape: [n] },
        },
        [ctr, logit],
      );
      assertClose(got[0]!, want[0]!, 1e-5, 1e-6);
      assertClose(got[1]!, want[1]!, 1e-5, 1e-6);
    }
    // Three users: the original output names of the folded graph still compute the shared-history values.
    const histories = randomHistories(rng(99), 3, L, V);
    const userIndex = Int32Array.from([0, 1, 2, 1, 0]);
    const candidates = Int32Array.from([1, 2, 3, 4, 5]);
    const perRow = new Int32Array(5 * L);
    userIndex.forEach((u, i) => perRow.set(histories.subarray(u * L, (u + 1) * L), i * L));
    const [want] = await runGraph(
      graph,
      { history: { values: perRow, shape: [5, L] }, candidate: { values: candidates, shape: [5] } },
      ['ctr'],
    );
    const [got] = await runGraph(
      fold.graph,
      {
        history: { values: histories, shape: [3, L] },
        candidate: { values: candidates, shape: [5] },
        user_index: { values: userIndex, shape: [5] },
      },
      ['ctr'],
    );
    assertClose(got!, want!, 1e-5, 1e-6);
  }
  assert.equal(tf.memory().numTensors, before);
});

test('a dense layer that sees the user in none of its inputs is not folded', async () => {
  const { fold } = await folded(student('rows-only', 3));
  assert.equal(fold, undefined);
});

test(
  'loadModel: the reference student called with one user predicts expected.f32 and equals the per-row graph',
  { skip: skipWithoutBenchReference },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctr-fold-'));
    const model = await loadCtrModel((await writeReferenceRepo(ref, dir)).version);
    try {
      const variant = sharedHistorySpec(model.info, model.info.defaultSignature)!;
      assert.deepEqual(model.info.oneRowPaths, [variant.name]);
      const R = ref.historyLength;
      const before = tf.memory().numTensors;
      let worst = 0;
      for (let i = 0; i < ref.expected.length; i++) {
        const out = await model.predictHost(
          {
            history: { dtype: 'DT_INT32', shape: [1, R], values: ref.history.subarray(i * R, (i + 1) * R) },
            candidate: { dtype: 'DT_INT32', shape: [1], values: ref.candidate.subarray(i, i + 1) },
            user_index: { dtype: 'DT_INT32', shape: [1], values: new Int32Array(1) },
          },
          variant.name,
        );
        worst = Math.max(worst, Math.abs((out.ctr!.values[0] as number) - ref.expected[i]!));
      }
      assert.ok(worst <= 1e-5, `max |ctr − expected.f32| = ${worst}`);
      // One user with 1000 candidates against the per-row graph fed that history 1000 times.
      const N = 1000;
      const repeated = new Int32Array(N * R);
      for (let i = 0; i < N; i++) repeated.set(ref.history.subarray(0, R), i * R);
      const candidate = { dtype: 'DT_INT32' as const, shape: [N], values: ref.candidate.subarray(0, N) };
      const perRow = await model.predictHost({
        history: { dtype: 'DT_INT32', shape: [N, R], values: repeated },
        candidate,
      });
      const one = await model.predictHost(
        {
          history: { dtype: 'DT_INT32', shape: [1, R], values: ref.history.subarray(0, R) },
          candidate,
          user_index: { dtype: 'DT_INT32', shape: [N], values: new Int32Array(N) },
        },
        variant.name,
      );
      const a = perRow.ctr!.values as Float32Array;
      const b = one.ctr!.values as Float32Array;
      let diff = 0;
      for (let i = 0; i < N; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      assert.ok(diff <= 1e-5, `max |one user − per row| = ${diff}`);
      assert.equal(tf.memory().numTensors, before);
    } finally {
      model.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
