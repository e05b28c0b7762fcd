import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, mock, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { writeReferenceRepo } from '../../../bench/model-repo.ts';
import { loadBenchReference, type BenchReference } from '../../../bench/reference.ts';
import { sharedHistoryName, loadCtrModel } from '../../../src/ctr/shared-history-variant.ts';
import { initBackend } from '../../../src/graph/backend.ts';
import { attr, GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import type { HostTensor, LoadedModel } from '../../../src/graph/model.ts';
import { DirectGraph, type DirectPlan } from '../../../src/graph/tfjs/direct-executor.ts';
import { compileGraph } from '../../../src/graph/tfjs/graph-model.ts';
import { BENCH_REFERENCE, skipWithoutBenchReference } from '../../helpers/fixtures.ts';

/**
 * The direct executor against tfjs-converter's GraphModel, the independent implementation it replaces: the same
 * compiled graph run both ways must give the same float32 bits, every intermediate must be freed, and the op
 * registry's index checks must still run first.
 */
let ref: BenchReference;
let root: string;

before(async () => {
  await initBackend();
  if (!skipWithoutBenchReference) ref = await loadBenchReference(BENCH_REFERENCE);
  root = await mkdtemp(join(tmpdir(), 'ctr-direct-'));
});
after(() => rm(root, { recursive: true, force: true }));

const bits = (v: HostTensor['values']) => Buffer.from(new Float32Array(v as Float32Array).buffer);
const memory = () => [
  tf.memory().numTensors,
  (tf.backend() as unknown as { numDataIds(): number }).numDataIds(),
];

/** Plans DirectGraph.plan handed out while `fn` ran (undefined: the GraphModel ran). */
async function plansDuring(fn: () => Promise<void>): Promise<(DirectPlan | undefined)[]> {
  const spy = mock.method(DirectGraph.prototype, 'plan');
  try {
    await fn();
    return spy.mock.calls.map((c) => c.result);
  } finally {
    spy.mock.restore();
  }
}

test(
  'gives the GraphModel’s bits on the reference student: per row, shared history, one-user fold',
  { skip: skipWithoutBenchReference },
  async () => {
    const { version } = await writeReferenceRepo(ref, root, 'ref');
    const direct = await loadCtrModel(version);
    const graphOnly = await loadCtrModel(version, { direct: false });
    const L = ref.historyLength;
    const rows = 300;
    const sig = direct.info.defaultSignature;
    const calls: [Record<string, HostTensor>, string][] = [
      [
        {
          history: { dtype: 'DT_INT32', shape: [rows, L], values: ref.history.slice(0, rows * L) },
          candidate: { dtype: 'DT_INT32', shape: [rows], values: ref.candidate.slice(0, rows) },
        },
        sig,
      ],
      ...[1, 3].map((users): [Record<string, HostTensor>, string] => [
        {
          history: { dtype: 'DT_INT32', shape: [users, L], values: ref.history.slice(0, users * L) },
          candidate: { dtype: 'DT_INT32', shape: [rows], values: ref.candidate.slice(0, rows) },
          user_index: {
            dtype: 'DT_INT32',
            shape: [rows],
            values: Int32Array.from({ length: rows }, (_, i) => i % users),
          },
        },
        sharedHistoryName(sig),
      ]),
    ];
    try {
      const plans = await plansDuring(async () => {
        for (const [inputs, name] of calls) {
          const a = await direct.predictHost(inputs, name);
          const b = await graphOnly.predictHost(inputs, name);
          for (const out of ['ctr', 'logit'])
            assert.ok(bits(a[out]!.values).equals(bits(b[out]!.values)), `${name} ${out}`);
        }
      });
      // The per-row graph and the one-user fold run direct (the several-user variant needs Range, not covered).
      assert.ok(plans.filter(Boolean).length >= 2, `direct plans: ${plans.map(Boolean).join(',')}`);
      const perRow = await direct.predictHost(calls[0]![0], sig);
      const ctr = perRow.ctr!.values as Float32Array;
      for (let i = 0; i < rows; i++) assert.ok(Math.abs(ctr[i]! - ref.expected[i]!) <= 1e-5, `row ${i}`);
    } finally {
      direct.dispose();
      graphOnly.dispose();
    }
  },
);

test(
  'frees every intermediate tensor and buffer it makes over many calls',
  { skip: skipWithoutBenchReference },
  async () => {
    const { version } = await writeReferenceRepo(ref, root, 'ref-mem');
    const model: LoadedModel = await loadCtrModel(version);
    const L = ref.historyLength;
    const one = (candidate: Int32Array) =>
      ({
        history: { dtype: 'DT_INT32', shape: [1, L], values: ref.history.slice(0, L) },
        candidate: { dtype: 'DT_INT32', shape: [candidate.length], values: candidate },
        user_index: {
          dtype: 'DT_INT32',
          shape: [candidate.length],
          values: new Int32Array(candidate.length),
        },
      }) as const;
    const name = sharedHistoryName(model.info.defaultSignature);
    try {
      await model.predictHost(one(ref.candidate.slice(0, 50)), name);
      const start = memory();
      for (let i = 0; i < 20; i++) await model.predictHost(one(ref.candidate.slice(i, i + 50)), name);
      assert.deepEqual(memory(), start);
    } finally {
      model.dispose();
    }
  },
);

/** A graph of one op under test fed by Placeholders `x`, `y`, …; returns its output run both ways. */
function bothWays(build: (g: GraphBuilder) => string, feeds: Record<string, tf.Tensor>) {
  const g = new GraphBuilder();
  const out = build(g);
  const compiled = compileGraph(g.toGraphDef(), 'op.pb');
  try {
    const plan = compiled.direct?.plan(Object.keys(feeds), [out]);
    assert.ok(plan, 'the direct executor covers the graph');
    const before = memory();
    const [d] = plan.run(feeds);
    const [m] = [compiled.model.execute(feeds, [out])].flat();
    const result = {
      direct: [d!.shape, Buffer.from(d!.dataSync().buffer)],
      graph: [m!.shape, Buffer.from(m!.dataSync().buffer)],
    };
    tf.dispose([d!, m!]);
    assert.deepEqual(memory(), before);
    return result;
  } finally {
    compiled.model.dispose();
  }
}

const rand = (shape: number[], seed: number) => {
  let s = seed;
  const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647 - 0.5;
  });
  return tf.tensor(values, shape);
};

test('each op it runs gives the GraphModel’s bits', () => {
  const x = rand([7, 5], 1);
  const y = rand([5, 3], 2);
  const row = rand([5], 3);
  const ids = tf.tensor([4, 0, 2, 2, 1], [5], 'int32');
  const segs = tf.tensor([0, 0, 1, 3, 3], [5], 'int32');
  const fused = (act: string) => (g: GraphBuilder) => {
    const bias = g.constant('DT_FLOAT', [3], [0.5, -0.25, 0.125]);
    const ops = ['BiasAdd', ...(act ? [act] : [])].map((s) => new TextEncoder().encode(s));
    return g.op(
      '_FusedMatMul',
      [g.placeholder('x', 'DT_FLOAT', null), g.placeholder('y', 'DT_FLOAT', null), bias],
      {
        T: attr.type('DT_FLOAT'),
        fused_ops: { list: { s: ops } },
        num_args: attr.i(1),
        transpose_a: attr.b(false),
        transpose_b: attr.b(false),
      },
      { outDtypes: [1] },
    )[0]!;
  };
  const segmentCase = (op: string): [string, (g: GraphBuilder) => string, Record<string, tf.Tensor>] => [
    op,
    (g) =>
      g.op(
        op,
        [
          g.placeholder('x', 'DT_FLOAT', null),
          g.placeholder('i', 'DT_INT32', null),
          g.placeholder('s', 'DT_INT32', null),
        ],
        { T: attr.type('DT_FLOAT') },
        { outDtypes: [1] },
      )[0]!,
    { 'x:0': x, 'i:0': ids, 's:0': segs },
  ];
  const cases: [string, (g: GraphBuilder) => string, Record<string, tf.Tensor>][] = [
    [
      'MatMul',
      (g) => g.matMul(g.placeholder('x', 'DT_FLOAT', null), g.placeholder('y', 'DT_FLOAT', null)),
      { 'x:0': x, 'y:0': y },
    ],
    [
      'MatMul transposed',
      (g) =>
        g.matMul(g.placeholder('x', 'DT_FLOAT', null), g.placeholder('y', 'DT_FLOAT', null), {
          transposeA: true,
          transposeB: true,
        }),
      { 'x:0': y, 'y:0': x },
    ],
    ['_FusedMatMul', fused(''), { 'x:0': x, 'y:0': y }],
    ['_FusedMatMul Relu', fused('Relu'), { 'x:0': x, 'y:0': y }],
    [
      'AddV2 broadcast',
      (g) => g.addV2(g.placeholder('x', 'DT_FLOAT', null), g.placeholder('y', 'DT_FLOAT', null)),
      { 'x:0': x, 'y:0': row },
    ],
    [
      'Mul',
      (g) => g.mul(g.placeholder('x', 'DT_FLOAT', null), g.placeholder('y', 'DT_FLOAT', null)),
      { 'x:0': x, 'y:0': row },
    ],
    [
      'Sub, Maximum',
      (g) =>
        g.maximum(
          g.sub(g.placeholder('x', 'DT_FLOAT', null), g.placeholder('y', 'DT_FLOAT', null)),
          g.placeholder('z', 'DT_FLOAT', null),
        ),
      { 'x:0': x, 'y:0': row, 'z:0': row },
    ],
    ['Sigmoid, Relu', (g) => g.relu(g.sigmoid(g.placeholder('x', 'DT_FLOAT', null))), { 'x:0': x }],
    [
      'Sum, Mean',
      (g) => g.mean(g.sum(g.placeholder('x', 'DT_FLOAT', null), [1], { keepDims: true }), [0]),
      { 'x:0': x },
    ],
    [
      'Transpose, Reshape, Squeeze',
      (g) => g.squeeze(g.reshape(g.transpose(g.placeholder('x', 'DT_FLOAT', null), [1, 0]), [1, 35, 1])),
      { 'x:0': x },
    ],
    [
      'ConcatV2',
      (g) => g.concatV2([g.placeholder('x', 'DT_FLOAT', null), g.placeholder('y', 'DT_FLOAT', null)], 1),
      { 'x:0': x, 'y:0': rand([7, 2], 4) },
    ],
    segmentCase('SparseSegmentSum'),
    segmentCase('SparseSegmentMean'),
  ];
  try {
    for (const [name, build, feeds] of cases) {
      const { direct, graph } = bothWays(build, feeds);
      assert.deepEqual(direct, graph, name);
    }
  } finally {
    tf.dispose([x, y, row, ids, segs]);
  }
});

test('checks segment indices before the kernel, as the op registry does (CTR_ERR_INDEX_OUT_OF_RANGE)', () => {
  const g = new GraphBuilder();
  const data = g.constant('DT_FLOAT', [3, 2], [1, 2, 3, 4, 5, 6]);
  const out = g.op(
    'SparseSegmentSum',
    [data, g.placeholder('i', 'DT_INT32', null), g.placeholder('s', 'DT_INT32', null)],
    { T: attr.type('DT_FLOAT') },
    { outDtypes: [1] },
  )[0]!;
  const compiled = compileGraph(g.toGraphDef(), 'op.pb');
  const feeds = { 'i:0': tf.tensor([0, 3], [2], 'int32'), 's:0': tf.tensor([0, 0], [2], 'int32') };
  try {
    const plan = compiled.direct?.plan(Object.keys(feeds), [out]);
    assert.ok(plan);
    const before = memory();
    assert.throws(
      () => plan.run(feeds),
      (err: Error & { code?: string }) =>
        err.code === 'CTR_ERR_INDEX_OUT_OF_RANGE' && /indices\[1\] = 3/.test(err.message),
    );
    assert.deepEqual(memory(), before);
  } finally {
    tf.dispose(Object.values(feeds));
    compiled.model.dispose();
  }
});

test('leaves graphs with ops it does not cover to the GraphModel', () => {
  const g = new GraphBuilder();
  const out = g.op(
    'Floor',
    [g.placeholder('x', 'DT_FLOAT', null)],
    { T: attr.type('DT_FLOAT') },
    { outDtypes: [1] },
  )[0]!;
  const compiled = compileGraph(g.toGraphDef(), 'op.pb');
  try {
    assert.equal(compiled.direct?.plan(['x:0'], [out]), undefined);
  } finally {
    compiled.model.dispose();
  }
});
