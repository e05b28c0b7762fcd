import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { initBackend } from '../../../src/graph/backend.ts';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import type { GraphDef } from '../../../src/graph/proto/types.ts';
import { rewriteGraph } from '../../../src/graph/rewrite/rewrite-graph.ts';
import {
  REWRITE_PASSES,
  verifyPass,
  type RewritePassSpec,
} from '../../../src/graph/rewrite/rewrite-passes.ts';
import { assertClose } from '../../helpers/fixtures.ts';
import { randomFloats, randomHistories, rng } from '../../helpers/random.ts';
import { runGraph } from '../../helpers/run-graph.ts';

before(async () => {
  await initBackend('wasm');
});

type Shape = {
  vocab: number;
  dim: number;
  length: number;
  hidden: number;
  reduce: 'mean' | 'sum' | 'maskedMean';
  activation: 'Relu' | 'Sigmoid' | 'Elu';
  seed: number;
};

/** A small CTR student of random sizes: bag of the history, candidate lookup, concat, one dense layer. */
function student(s: Shape): GraphDef {
  const next = rng(s.seed);
  const g = new GraphBuilder();
  const history = g.placeholder('history', 'DT_INT32', [-1, s.length]);
  const candidate = g.placeholder('candidate', 'DT_INT32', [-1]);
  const E = g.constant('DT_FLOAT', [s.vocab, s.dim], randomFloats(next, s.vocab * s.dim), { name: 'E' });
  const looked = g.gatherV2(E, history, 0);
  let h: string;
  if (s.reduce === 'maskedMean') {
    const m = g.expandDims(g.cast(g.notEqual(history, g.constant('DT_INT32', [], [0])), 'DT_FLOAT'), -1);
    h = g.realDiv(g.sum(g.mul(looked, m), 1), g.maximum(g.sum(m, 1), g.constant('DT_FLOAT', [], [1])));
  } else {
    h = s.reduce === 'mean' ? g.mean(looked, 1) : g.sum(looked, 1);
  }
  const x = g.concatV2([h, g.gatherV2(E, candidate, 0)], 1);
  const k = g.constant('DT_FLOAT', [2 * s.dim, s.hidden], randomFloats(next, 2 * s.dim * s.hidden));
  const b = g.constant('DT_FLOAT', [s.hidden], randomFloats(next, s.hidden));
  const y = g.op(s.activation, [g.biasAdd(g.matMul(x, k), b)], { T: { type: 1 } })[0];
  g.identity(y, { name: 'out' });
  return g.toGraphDef();
}

test('rewritten random students equal the graphs they came from at any batch size', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        vocab: fc.integer({ min: 2, max: 40 }),
        dim: fc.integer({ min: 1, max: 6 }),
        length: fc.integer({ min: 1, max: 9 }),
        hidden: fc.integer({ min: 1, max: 5 }),
        reduce: fc.constantFrom('mean', 'sum', 'maskedMean'),
        activation: fc.constantFrom('Relu', 'Sigmoid', 'Elu'),
        seed: fc.integer({ min: 1, max: 1_000_000 }),
      }),
      fc.integer({ min: 1, max: 24 }),
      async (s: Shape, batch: number) => {
        const graph = student(s);
        const rewritten = rewriteGraph(graph, { keepNodes: ['history', 'candidate', 'out'] });
        const ops = new Set(rewritten.node.map((n) => n.op));
        assert.ok(
          !ops.has('GatherV2') && !ops.has('MatMul') && ops.has('_FusedMatMul'),
          'every pass applied',
        );
        const next = rng(s.seed + batch);
        const feeds = {
          history: { values: randomHistories(next, batch, s.length, s.vocab), shape: [batch, s.length] },
          candidate: {
            values: Int32Array.from({ length: batch }, () => Math.floor(next() * s.vocab)),
            shape: [batch],
          },
        };
        const [want] = await runGraph(graph, feeds, ['out']);
        const [got] = await runGraph(rewritten, feeds, ['out']);
        assertClose(got, want, 1e-5, 1e-6);
      },
    ),
    { numRuns: 30, seed: 20261127 },
  );
});

test('every registered pass, run alone, keeps the values and passes its own checks', async () => {
  const keep = new Set(['history', 'candidate', 'out']);
  for (const [seed, reduce] of [
    [3, 'mean'],
    [5, 'maskedMean'],
    [8, 'sum'],
  ] as const) {
    const graph = student({ vocab: 12, dim: 3, length: 4, hidden: 2, reduce, activation: 'Relu', seed });
    const next = rng(seed);
    const feeds = {
      history: { values: randomHistories(next, 5, 4, 12), shape: [5, 4] },
      candidate: { values: Int32Array.from({ length: 5 }, (_, i) => (i * 5) % 12), shape: [5] },
    };
    const [want] = await runGraph(graph, feeds, ['out']);
    for (const pass of REWRITE_PASSES as readonly RewritePassSpec[]) {
      const ctx = { keep, feedSegmentRows: false };
      const result = pass.applies(graph) ? pass.run(graph, ctx) : graph;
      assert.deepEqual(verifyPass(pass, result, ctx), []);
      const [got] = await runGraph(result, feeds, ['out']);
      assertClose(got, want, 1e-5, 1e-6);
    }
  }
});
