import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadBenchReference, type BenchReference } from '../../../bench/reference.ts';
import { initBackend } from '../../../src/graph/backend.ts';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { rewriteGraph, rewriteSharedHistoryGraph } from '../../../src/graph/rewrite/rewrite-graph.ts';
import { TFJS_OPS } from '../../../src/graph/tfjs/supported-ops.ts';
import { BENCH_REFERENCE, assertClose, skipWithoutBenchReference } from '../../helpers/fixtures.ts';
import { randomFloats, rng } from '../../helpers/random.ts';
import { runGraph } from '../../helpers/run-graph.ts';
import { resourceGather } from '../../../src/graph/builder/variable-ops.ts';

let ref: BenchReference;
before(async () => {
  await initBackend('wasm');
  if (!skipWithoutBenchReference) ref = await loadBenchReference(BENCH_REFERENCE);
});

const KEEP = ['history', 'candidate', 'ctr', 'logit'];

function feeds(r: BenchReference, rows: number) {
  const L = r.historyLength;
  return {
    history: { values: r.history.subarray(0, rows * L), shape: [rows, L] },
    candidate: { values: r.candidate.subarray(0, rows), shape: [rows] },
  };
}

test(
  'the rewritten reference student predicts expected.f32 within 1e-5 for all 1024 rows',
  { skip: skipWithoutBenchReference },
  async () => {
    const rewritten = rewriteGraph(ref.graph, { keepNodes: KEEP });
    const [ctr] = await runGraph(rewritten, feeds(ref, ref.rows), ['ctr']);
    assertClose(ctr, ref.expected, 0, 1e-5);
  },
);

test(
  'the rewritten reference student runs sparse segment reductions and fused matmuls, no gather',
  { skip: skipWithoutBenchReference },
  () => {
    const ops = rewriteGraph(ref.graph, { keepNodes: KEEP }).node.map((n) => n.op);
    const count = (op: string) => ops.filter((o) => o === op).length;
    assert.equal(count('SparseSegmentMean'), 1);
    assert.equal(count('_FusedMatMul'), 3);
    assert.equal(count('Mean') + count('MatMul') + count('BiasAdd') + count('Relu'), 0);
    assert.equal(count('GatherV2'), 0);
    assert.equal(count('SparseSegmentSum'), 1, 'the candidate lookup');
  },
);

test(
  'the rewritten reference student equals the unrewritten one at batch 1, 64 and 1024 on both outputs',
  { skip: skipWithoutBenchReference },
  async () => {
    const rewritten = rewriteGraph(ref.graph, { keepNodes: KEEP });
    const before = tf.memory().numTensors;
    for (const rows of [1, 64, 1024]) {
      const want = await runGraph(ref.graph, feeds(ref, rows), ['ctr', 'logit']);
      const got = await runGraph(rewritten, feeds(ref, rows), ['ctr', 'logit']);
      assertClose(got[0], want[0], 1e-5, 1e-6);
      assertClose(got[1], want[1], 1e-5, 1e-6);
    }
    assert.equal(tf.memory().numTensors, before);
  },
);

test('single passes can be turned off', () => {
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [-1, 3]);
  const k = g.constant('DT_FLOAT', [3, 2], randomFloats(rng(1), 6));
  g.relu(g.biasAdd(g.matMul(x, k), g.constant('DT_FLOAT', [2], [1, 2])), { name: 'y' });
  const graph = g.toGraphDef();
  assert.equal(rewriteGraph(graph, { passes: { fuseMatMul: false } }), graph);
  assert.notEqual(rewriteGraph(graph), graph);
});

test('ResourceGather left by a freeze (reading a constant) becomes GatherV2 and then an embedding bag', async () => {
  const g = new GraphBuilder();
  const ids = g.placeholder('ids', 'DT_INT32', [-1, 4]);
  const table = randomFloats(rng(2), 27);
  const E = g.constant('DT_FLOAT', [9, 3], table, { name: 'E' });
  const looked = resourceGather(g, E, ids, 'DT_FLOAT', { name: 'lookup' });
  g.identity(g.sum(looked, 1, { name: 'bag' }), { name: 'out' });
  const graph = g.toGraphDef();
  assert.equal(
    rewriteGraph(graph, { passes: { embeddingBag: false, embeddingLookup: false } }).node.find(
      (n) => n.name === 'lookup',
    )?.op,
    'GatherV2',
  );
  const rewritten = rewriteGraph(graph);
  assert.equal(rewritten.node.find((n) => n.name === 'bag')?.op, 'SparseSegmentSum');
  const values = Int32Array.from([1, 2, 3, 0, 8, 8, 0, 0, 5, 6, 7, 1]);
  const [got] = await runGraph(rewritten, { ids: { values, shape: [3, 4] } }, ['out']);
  // sum over each row of E[id], by definition of the bag
  const want = new Float32Array(9);
  for (let r = 0; r < 3; r++) {
    for (let j = 0; j < 4; j++)
      for (let d = 0; d < 3; d++) want[r * 3 + d] += table[values[r * 4 + j] * 3 + d];
  }
  assertClose(got, want, 1e-6, 1e-6);
});

test(
  'every op the rewrites emit is mapped by tfjs-converter and, where it computes, has a tfjs-wasm kernel',
  { skip: skipWithoutBenchReference },
  () => {
    const shared = rewriteSharedHistoryGraph(ref.graph, { history: 'history', userIndex: 'user_index' });
    const ops = new Set([...rewriteGraph(ref.graph).node, ...(shared?.graph.node ?? [])].map((n) => n.op));
    const kernels = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
    // Graph-level ops tfjs-converter evaluates itself, and ops whose kernel has another name in tfjs.
    const converterOnly = new Set([
      'Const',
      'Placeholder',
      'Identity',
      'Shape',
      'Size',
      'Squeeze',
      'ExpandDims',
    ]);
    const kernelName: Record<string, string> = { ConcatV2: 'Concat', Mul: 'Multiply' };
    for (const op of ops) {
      assert.ok(TFJS_OPS.has(op), `${op} is not mapped by tfjs-converter`);
      if (converterOnly.has(op)) continue;
      const kernel = kernelName[op] ?? op;
      assert.ok(kernels.has(kernel), `${op} has no wasm kernel ${kernel}`);
    }
    assert.ok(ops.has('SparseSegmentMean') && ops.has('SparseSegmentSum') && ops.has('_FusedMatMul'));
  },
);

test('a TF1 Gather (no axis input) becomes GatherV2 on axis 0 with the same values', async () => {
  const g = new GraphBuilder();
  const ids = g.placeholder('ids', 'DT_INT32', [-1]);
  const table = g.constant('DT_FLOAT', [5, 2], randomFloats(rng(4), 10), { name: 'table' });
  const looked = g.op(
    'Gather',
    [table, ids],
    { Tparams: { type: 1 }, Tindices: { type: 3 }, validate_indices: { b: true } },
    { name: 'lookup' },
  )[0];
  g.identity(looked, { name: 'out' });
  const graph = g.toGraphDef();
  const normalized = rewriteGraph(graph, { passes: { embeddingLookup: false } });
  const node = normalized.node.find((n) => n.name === 'lookup');
  assert.equal(node?.op, 'GatherV2');
  assert.equal(node?.input.length, 3);
  const feeds = { ids: { values: Int32Array.from([4, 0, 2, 2]), shape: [4] } };
  const [want] = await runGraph(graph, feeds, ['out']);
  const [got] = await runGraph(normalized, feeds, ['out']);
  assert.deepEqual(Array.from(got), Array.from(want));
});
