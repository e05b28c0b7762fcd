import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { kernelsDuring } from '../../helpers/kernels-during.ts';
import { initBackend } from '../../../src/graph/backend.ts';
import { attr, GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { markProvenGathers } from '../../../src/graph/guard/mark-proven-gathers.ts';
import { loadModel } from '../../../src/graph/load-model.ts';
import type { HostTensor, LoadedModel } from '../../../src/graph/model.ts';
import { INDICES_PROVEN_ATTR } from '../../../src/graph/op/gather.ts';
import { encodeGraphDef } from '../../../src/graph/proto/encode.ts';
import { DataType } from '../../../src/graph/proto/types.ts';
import { SEGMENT_ROWS_OF } from '../../../src/graph/rewrite/index.ts';
import { appFor, call, post } from '../../helpers/app-helpers.ts';
import { randomFloats, rng } from '../../helpers/random.ts';

/**
 * Indices computed inside the graph (issue 9): no load-time guard can bound them (they come from a hash, an
 * arithmetic op, ArgMax, Where), so the gather-like kernels check them at run time. Each graph is loaded as a
 * real model (rewrites on and off): in-range inputs give the rows a reference computed here gives, an
 * out-of-range one is refused with CTR_ERR_INDEX_OUT_OF_RANGE in TensorFlow's words before the backend's kernel
 * runs (kernel names counted on the engine: no wasm read at all), and every tensor is freed.
 */
const V = 7;
const D = 3;
const table = randomFloats(rng(5), V * D);
const row = (i: number) => Array.from(table.subarray(i * D, (i + 1) * D));

before(async () => {
  await initBackend('wasm');
});

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type Input = { dtype: 'DT_INT32' | 'DT_FLOAT' | 'DT_STRING' | 'DT_BOOL'; shape: number[] };
type Case = {
  readonly name: string;
  readonly input: Input;
  /** The graph from the fed `x` to the output. */
  readonly build: (g: GraphBuilder, E: string, x: string) => string;
  readonly good: { values: unknown[]; want: number[] };
  readonly bad: { values: unknown[]; message: RegExp };
  /** The backend kernel the refusal must come before. */
  readonly kernel: string;
};

const i32 = (g: GraphBuilder, values: number[], shape: number[], name: string) =>
  g.constant('DT_INT32', shape, values, { name });

const CASES: Case[] = [
  {
    name: 'ids + 5 (arithmetic) into GatherV2',
    input: { dtype: 'DT_INT32', shape: [2, 2] },
    build: (g, E, x) => g.gatherV2(E, g.addV2(x, i32(g, [5], [], 'five')), 0),
    good: { values: [0, 1, 1, 0], want: [5, 6, 6, 5].flatMap(row) },
    bad: { values: [0, 1, 2, 0], message: /^GatherV2 node GatherV2: indices\[1,0\] = 7 is not in \[0, 7\)$/ },
    kernel: 'GatherV2',
  },
  {
    name: 'StringToHashBucketFast (10 buckets) into GatherV2 of 7 rows',
    input: { dtype: 'DT_STRING', shape: [3] },
    build: (g, E, x) => {
      const [h] = g.op(
        'StringToHashBucketFast',
        [x],
        { num_buckets: attr.i(10) },
        {
          outDtypes: [DataType.DT_INT64],
        },
      );
      return g.gatherV2(E, h!, 0);
    },
    // string_to_hash_bucket_op_test.py: a → 9, b → 2, c → 2, d → 5 in 10 buckets.
    good: { values: ['b', 'd', 'c'], want: [2, 5, 2].flatMap(row) },
    bad: {
      values: ['b', 'a', 'c'],
      message: /^GatherV2 node GatherV2: indices\[1\] = 9 is not in \[0, 7\)$/,
    },
    kernel: 'GatherV2',
  },
  {
    name: 'ArgMax over 10 scores into GatherV2',
    input: { dtype: 'DT_FLOAT', shape: [2, 10] },
    build: (g, E, x) => {
      const axis = i32(g, [1], [], 'argmax_axis');
      const [am] = g.op(
        'ArgMax',
        [x, axis],
        { T: attr.type('DT_FLOAT'), Tidx: attr.type('DT_INT32'), output_type: attr.type('DT_INT32') },
        { outDtypes: [DataType.DT_INT32] },
      );
      return g.gatherV2(E, am!, 0);
    },
    good: { values: [...oneHot(3), ...oneHot(6)], want: [3, 6].flatMap(row) },
    bad: {
      values: [...oneHot(3), ...oneHot(8)],
      message: /^GatherV2 node GatherV2: indices\[1\] = 8 is not in \[0, 7\)$/,
    },
    kernel: 'GatherV2',
  },
  {
    name: 'Where (coordinates of true values) into GatherNd',
    input: { dtype: 'DT_BOOL', shape: [10] },
    build: (g, E, x) => {
      const [coords] = g.op('Where', [x], { T: attr.type('DT_BOOL') }, { outDtypes: [DataType.DT_INT64] });
      const [out] = g.op(
        'GatherNd',
        [E, coords!],
        { Tparams: attr.type('DT_FLOAT'), Tindices: attr.type('DT_INT64') },
        { outDtypes: [DataType.DT_FLOAT] },
      );
      return out!;
    },
    good: { values: bools([1, 4]), want: [1, 4].flatMap(row) },
    bad: {
      values: bools([1, 9]),
      message: /^GatherNd node GatherNd: indices\[1\] = \[9\] does not index into param shape \[7,3\]$/,
    },
    kernel: 'GatherNd',
  },
  {
    name: 'ids - 1 into ScatterNd of 7 rows',
    input: { dtype: 'DT_INT32', shape: [2, 1] },
    build: (g, E, x) => {
      const idx = g.sub(x, i32(g, [1], [], 'one'));
      const updates = g.gatherV2(E, i32(g, [0, 1], [2], 'first_rows'), 0);
      const [out] = g.op(
        'ScatterNd',
        [idx, updates, i32(g, [V, D], [2], 'scatter_shape')],
        { T: attr.type('DT_FLOAT'), Tindices: attr.type('DT_INT32') },
        { outDtypes: [DataType.DT_FLOAT] },
      );
      return out!;
    },
    // rows 0 and 1 of E written at rows 3 and 6, zeros elsewhere (tf.scatter_nd).
    good: {
      values: [4, 7],
      want: scattered([
        [3, 0],
        [6, 1],
      ]),
    },
    bad: {
      values: [4, 8],
      message: /^ScatterNd node ScatterNd: indices\[1\] = \[7\] does not index into shape \[7,3\]$/,
    },
    kernel: 'ScatterNd',
  },
];

function oneHot(at: number): number[] {
  return Array.from({ length: 10 }, (_, i) => (i === at ? 1 : 0));
}
function bools(trueAt: number[]): boolean[] {
  return Array.from({ length: 10 }, (_, i) => trueAt.includes(i));
}
function scattered(writes: [number, number][]): number[] {
  const out = new Array<number>(V * D).fill(0);
  for (const [to, from] of writes) row(from).forEach((v, d) => (out[to * D + d] = v));
  return out;
}

/** `c`'s graph as a model directory (frozen_graph.pb + model.json) in `dir`. */
async function writeModel(c: Case, dir: string): Promise<void> {
  const g = new GraphBuilder();
  const x = g.placeholder(
    'x',
    c.input.dtype,
    c.input.shape.map(() => -1),
  );
  const E = g.constant('DT_FLOAT', [V, D], table, { name: 'E' });
  g.identity(c.build(g, E, x), { name: 'out' });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'frozen_graph.pb'), encodeGraphDef(g.toGraphDef()));
  const json = { inputs: { x: 'x:0' }, outputs: { out: 'out:0' } };
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
}

async function modelOf(c: Case, rewrite: boolean): Promise<LoadedModel> {
  const dir = await mkdtemp(join(tmpdir(), 'ctr-in-graph-'));
  dirs.push(dir);
  await writeModel(c, dir);
  return loadModel(dir, { rewrite });
}

const host = (input: Input, values: unknown[]): HostTensor =>
  ({
    dtype: input.dtype,
    shape: input.shape,
    values:
      input.dtype === 'DT_INT32'
        ? Int32Array.from(values as number[])
        : input.dtype === 'DT_FLOAT'
          ? Float32Array.from(values as number[])
          : input.dtype === 'DT_STRING'
            ? (values as string[]).map((s) => new TextEncoder().encode(s))
            : (values as boolean[]),
  }) as HostTensor;

for (const c of CASES) {
  for (const rewrite of [true, false]) {
    describe(`${c.name} (rewrites ${rewrite ? 'on' : 'off'})`, () => {
      let model: LoadedModel;
      before(async () => {
        model = await modelOf(c, rewrite);
      });
      after(() => model.dispose());

      test('no load-time guard can bound the computed index', () => {
        assert.equal(model.info.signatures.serving_default!.indexRanges, undefined);
      });

      test('in-range values give the reference rows', async () => {
        const out = await model.predictHost({ x: host(c.input, c.good.values) });
        const got = Array.from(out.out!.values as Float32Array);
        assert.equal(got.length, c.good.want.length);
        got.forEach((v, i) => assert.ok(Math.abs(v - c.good.want[i]!) < 1e-6, `element ${i}: ${v}`));
      });

      test('an out-of-range computed index is refused before the kernel, and nothing leaks', async () => {
        await model.predictHost({ x: host(c.input, c.good.values) }); // warm: the first call may cache tensors
        const start = tf.memory().numTensors;
        const { names, error } = await kernelsDuring(() =>
          model.predictHost({ x: host(c.input, c.bad.values) }),
        );
        assert.equal((error as { code?: string })?.code, 'CTR_ERR_INDEX_OUT_OF_RANGE', String(error));
        assert.match((error as Error).message, c.bad.message);
        assert.ok(!names.includes(c.kernel), `${c.kernel} ran: ${names.join(', ')}`);
        assert.equal(tf.memory().numTensors, start);
      });
    });
  }
}

test('over TF Serving :predict every case answers 400 CTR_ERR_INDEX_OUT_OF_RANGE in its words, never a 500', async () => {
  const base = await mkdtemp(join(tmpdir(), 'ctr-in-graph-http-'));
  dirs.push(base);
  for (const [i, c] of CASES.entries()) await writeModel(c, join(base, `m${i}`, '1'));
  const app = await appFor(CASES.map((_, i) => ({ name: `m${i}`, basePath: join(base, `m${i}`) })));
  try {
    const start = await app.ctr.numTensors();
    for (const [i, c] of CASES.entries()) {
      const instances = (values: unknown[]) => {
        const rows = c.input.shape[0]!;
        const per = values.length / rows;
        return Array.from({ length: rows }, (_, r) => {
          const v = values.slice(r * per, (r + 1) * per);
          return c.input.shape.length === 1 ? v[0] : v;
        });
      };
      const ok = await call(app, post(`/v1/models/m${i}:predict`, { instances: instances(c.good.values) }));
      assert.equal(ok.status, 200, `${c.name}: ${ok.text}`);
      const res = await call(app, post(`/v1/models/m${i}:predict`, { instances: instances(c.bad.values) }));
      assert.equal(res.status, 400, `${c.name}: ${res.text}`);
      assert.equal(res.headers['ctr-error-code'], 'CTR_ERR_INDEX_OUT_OF_RANGE');
      assert.match((res.body as { error: string }).error, c.bad.message, c.name);
    }
    assert.equal(await app.ctr.numTensors(), start);
  } finally {
    await app.close();
  }
});

describe('markProvenGathers: which gathers may skip the run-time check', () => {
  const graphWith = (indices: (g: GraphBuilder, ids: string) => string, segmentRows = false) => {
    const g = new GraphBuilder();
    const ids = g.placeholder('ids', 'DT_INT32', [-1]);
    const E = g.constant('DT_FLOAT', [V, D], table, { name: 'E' });
    g.gatherV2(E, indices(g, ids), 0, { name: 'lookup' });
    const graph = g.toGraphDef();
    if (segmentRows) {
      const p = graph.node.find((n) => n.name === 'ids')!;
      p.attr[SEGMENT_ROWS_OF] = { s: new TextEncoder().encode('other') };
    }
    return graph;
  };
  const mark = (graph: ReturnType<typeof graphWith>, guarded: string[]) =>
    markProvenGathers(graph, new Set(guarded)).node.find((n) => n.name === 'lookup')!.attr[
      INDICES_PROVEN_ATTR
    ]?.i;

  test('a guarded feed, through value-carrying ops, is proven with the rows of the table', () => {
    const through = (g: GraphBuilder, ids: string) => g.identity(g.reshape(g.cast(ids, 'DT_INT32'), [-1]));
    assert.equal(mark(graphWith(through), ['ids']), V);
    assert.equal(mark(graphWith(through), []), undefined, 'not when the caller applies no guard');
    assert.equal(mark(graphWith(through, true), ['ids']), undefined, 'a segment-row feed is not an input');
  });

  test('constants are proven only when every value is in range; computed values never are', () => {
    const constant = (values: number[]) => (g: GraphBuilder) => i32(g, values, [values.length], 'c');
    assert.equal(mark(graphWith(constant([0, 6, 3])), []), V);
    assert.equal(mark(graphWith(constant([0, 7])), []), undefined);
    const both = (g: GraphBuilder, ids: string) => g.concatV2([ids, i32(g, [9], [1], 'nine')], 0);
    assert.equal(mark(graphWith(both), ['ids']), undefined);
    const sum = (g: GraphBuilder, ids: string) => g.addV2(ids, i32(g, [1], [], 'one'));
    assert.equal(mark(graphWith(sum), ['ids']), undefined);
  });
});
