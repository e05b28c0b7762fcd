import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/graph/backend.ts';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import type { GraphDef } from '../../../src/graph/proto/types.ts';
import { rewriteEmbeddingBags } from '../../../src/graph/rewrite/embedding-bag.ts';
import { assertClose } from '../../helpers/fixtures.ts';
import { randomFloats, randomHistories, rng } from '../../helpers/random.ts';
import { runGraph } from '../../helpers/run-graph.ts';

before(async () => {
  await initBackend('wasm');
});

type Variant = {
  reduce: 'mean' | 'sum';
  keepDims?: boolean;
  axis?: number;
  mask?: 'notEqual' | 'notEqualSwapped' | 'greater' | 'expandThenCast';
  divideByCount?: boolean;
  staticLength?: boolean;
};

const V = 37;
const D = 5;
const L = 7;

/** ids → bag, as a TensorFlow user writes it; E's padding row 0 is NOT zero, so masking must be exact. */
function bagGraph(v: Variant, seed: number): GraphDef {
  const next = rng(seed);
  const g = new GraphBuilder();
  const ids = g.placeholder('ids', 'DT_INT32', [-1, v.staticLength === false ? -1 : L]);
  const E = g.constant('DT_FLOAT', [V, D], randomFloats(next, V * D), { name: 'E' });
  let x = g.gatherV2(E, ids, 0, { name: 'lookup' });
  let count: string | undefined;
  if (v.mask) {
    const zero = g.constant('DT_INT32', [], [0], { name: 'pad' });
    const bool =
      v.mask === 'greater'
        ? g.greater(ids, zero)
        : v.mask === 'notEqualSwapped'
          ? g.notEqual(zero, ids)
          : g.notEqual(ids, zero);
    const m =
      v.mask === 'expandThenCast'
        ? g.cast(
            g.op(
              'ExpandDims',
              [bool, g.constant('DT_INT32', [], [-1])],
              { T: { type: 10 }, Tdim: { type: 3 } },
              { outDtypes: [10] },
            )[0],
            'DT_FLOAT',
          )
        : g.expandDims(g.cast(bool, 'DT_FLOAT'), -1);
    x = g.mul(x, m, { name: 'masked' });
    if (v.divideByCount) count = g.maximum(g.sum(m, 1), g.constant('DT_FLOAT', [], [1]));
  }
  const axis = v.axis ?? 1;
  let out =
    v.reduce === 'mean'
      ? g.mean(x, axis, { keepDims: v.keepDims, name: 'bag' })
      : g.sum(x, axis, { keepDims: v.keepDims, name: 'bag' });
  if (count) out = g.realDiv(out, count, { name: 'masked_mean' });
  g.identity(out, { name: 'out' });
  return g.toGraphDef();
}

function ops(graph: GraphDef): string[] {
  return graph.node.map((n) => n.op);
}

const variants: Variant[] = [
  { reduce: 'mean' },
  { reduce: 'sum' },
  { reduce: 'mean', keepDims: true },
  { reduce: 'sum', axis: -2 },
  { reduce: 'mean', staticLength: false },
  { reduce: 'sum', mask: 'notEqual' },
  { reduce: 'sum', mask: 'notEqual', divideByCount: true },
  { reduce: 'mean', mask: 'notEqualSwapped' },
  { reduce: 'sum', mask: 'greater', keepDims: true },
  { reduce: 'sum', mask: 'expandThenCast', divideByCount: true },
];

for (const [k, v] of variants.entries()) {
  test(`an embedding bag ${JSON.stringify(v)} becomes a sparse segment reduction with the same values at batch 1, 3 and 40`, async () => {
    const graph = bagGraph(v, 100 + k);
    const rewritten = rewriteEmbeddingBags(graph);
    assert.ok(ops(rewritten).includes(v.reduce === 'mean' ? 'SparseSegmentMean' : 'SparseSegmentSum'));
    assert.ok(!ops(rewritten).includes('GatherV2'), 'the [B,L,D] gather is gone');
    const before = tf.memory().numTensors;
    for (const batch of [1, 3, 40]) {
      const ids = randomHistories(rng(batch + k), batch, L, V);
      const feeds = { ids: { values: ids, shape: [batch, L] } };
      const [want] = await runGraph(graph, feeds, ['out']);
      const [got] = await runGraph(rewritten, feeds, ['out']);
      assertClose(got, want, 1e-5, 1e-6);
    }
    assert.equal(tf.memory().numTensors, before);
  });
}

test('the rewrite keeps the reduced node name so readers and output names still resolve', () => {
  const rewritten = rewriteEmbeddingBags(bagGraph({ reduce: 'mean' }, 1));
  const bag = rewritten.node.find((n) => n.name === 'bag');
  assert.equal(bag?.op, 'SparseSegmentMean');
  assert.deepEqual(rewritten.node.find((n) => n.name === 'out')?.input, ['bag']);
});

test('the unrewritten graph given to the pass is not mutated', () => {
  const graph = bagGraph({ reduce: 'sum', mask: 'notEqual' }, 2);
  const copy = structuredClone(graph);
  rewriteEmbeddingBags(graph);
  assert.deepEqual(graph, copy);
});

test('reductions that are not embedding bags are left alone', () => {
  const g = new GraphBuilder();
  const ids = g.placeholder('ids', 'DT_INT32', [-1, L]);
  const E = g.constant('DT_FLOAT', [V, D], new Float32Array(V * D), { name: 'E' });
  const looked = g.gatherV2(E, ids, 0);
  g.mean(looked, 2, { name: 'over_dims' });
  g.sum(looked, 0, { name: 'over_batch' });
  const flat = g.placeholder('flat_ids', 'DT_INT32', [-1]);
  g.mean(g.gatherV2(E, flat, 0), 1, { name: 'rank1_ids' });
  const unknown = g.placeholder('any_ids', 'DT_INT32', null);
  g.mean(g.gatherV2(E, unknown, 0), 1, { name: 'unknown_rank' });
  const graph = g.toGraphDef();
  assert.equal(rewriteEmbeddingBags(graph), graph);
});

test('a mask that is not the gathered ids compared with a constant keeps the bag as it is', () => {
  const g = new GraphBuilder();
  const ids = g.placeholder('ids', 'DT_INT32', [-1, L]);
  const other = g.placeholder('other', 'DT_INT32', [-1, L]);
  const E = g.constant('DT_FLOAT', [V, D], new Float32Array(V * D), { name: 'E' });
  const m = g.expandDims(g.cast(g.notEqual(other, g.constant('DT_INT32', [], [0])), 'DT_FLOAT'), -1);
  g.sum(g.mul(g.gatherV2(E, ids, 0), m), 1, { name: 'bag' });
  const graph = g.toGraphDef();
  assert.equal(rewriteEmbeddingBags(graph), graph);
});

test('a gathered tensor that is also a signature output survives the rewrite of its bag', async () => {
  const graph = bagGraph({ reduce: 'mean' }, 3);
  const rewritten = rewriteEmbeddingBags(graph, new Set(['lookup']));
  assert.equal(rewritten.node.find((n) => n.name === 'bag')?.op, 'SparseSegmentMean');
  assert.equal(rewritten.node.find((n) => n.name === 'lookup')?.op, 'GatherV2');
  assert.ok(!rewriteEmbeddingBags(graph).node.some((n) => n.name === 'lookup'), 'without keep it is pruned');
  const feeds = { ids: { values: randomHistories(rng(5), 2, L, V), shape: [2, L] } };
  const [want] = await runGraph(graph, feeds, ['lookup']);
  const [got] = await runGraph(rewritten, feeds, ['lookup']);
  assert.deepEqual(Array.from(got), Array.from(want));
});
