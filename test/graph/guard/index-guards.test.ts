import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/graph/backend.ts';
import { attr, GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { loadModel } from '../../../src/graph/load-model.ts';
import type { HostTensor, LoadedModel } from '../../../src/graph/model.ts';
import { encodeGraphDef } from '../../../src/graph/proto/encode.ts';
import { DataType } from '../../../src/graph/proto/types.ts';
import { randomFloats, rng } from '../../helpers/random.ts';

/**
 * Index guards (src/graph/guard): for every table-reading op form, built with GraphBuilder and loaded the way a
 * real model is (rewrites on and off), an index outside the table is refused with CTR_ERR_INDEX_OUT_OF_RANGE before
 * any tfjs kernel runs (kernel calls are counted on the engine), and in-range ids give the table rows, computed
 * here from the stored weights.
 */
const V = 7;
const D = 3;
const L = 4;
const table = randomFloats(rng(11), V * D);

type Form = {
  readonly name: string;
  readonly build: (g: GraphBuilder, E: string, ids: string) => string;
  /** Expected output for ids [B, L] in range: row-major floats. */
  readonly reference: (ids: readonly number[], rows: number) => number[];
  readonly idsDtype?: 'DT_INT32' | 'DT_INT64';
};

const rowOf = (id: number) => Array.from(table.subarray(id * D, (id + 1) * D));
const gathered = (ids: readonly number[]) => ids.flatMap(rowOf);
const bagSums = (ids: readonly number[], rows: number) =>
  Array.from({ length: rows }, (_, r) =>
    Array.from({ length: D }, (_, d) =>
      ids.slice(r * L, (r + 1) * L).reduce((s, id) => s + table[id * D + d]!, 0),
    ),
  ).flat();

const FORMS: Form[] = [
  {
    name: 'GatherV2 through Identity and Reshape',
    build: (g, E, ids) => g.gatherV2(E, g.reshape(g.identity(ids), [-1]), 0),
    reference: gathered,
  },
  {
    name: 'TF1 Gather',
    build: (g, E, ids) =>
      g.op(
        'Gather',
        [E, g.reshape(ids, [-1])],
        {
          Tparams: attr.type(DataType.DT_FLOAT),
          Tindices: attr.type(DataType.DT_INT32),
          validate_indices: attr.b(true),
        },
        { outDtypes: [DataType.DT_FLOAT] },
      )[0]!,
    reference: gathered,
  },
  {
    name: 'ResourceGather of a frozen variable',
    build: (g, E, ids) =>
      g.op(
        'ResourceGather',
        [E, g.reshape(ids, [-1])],
        {
          dtype: attr.type(DataType.DT_FLOAT),
          Tindices: attr.type(DataType.DT_INT32),
          batch_dims: attr.i(0),
        },
        { outDtypes: [DataType.DT_FLOAT] },
      )[0]!,
    reference: gathered,
  },
  {
    name: 'an embedding bag (rewritten to SparseSegmentSum with fed segment rows)',
    build: (g, E, ids) => g.sum(g.gatherV2(E, ids, 0), 1),
    reference: bagSums,
  },
  {
    name: 'SparseSegmentSum',
    build: (g, E, ids) => {
      const flat = g.reshape(ids, [-1]);
      const segs = g.constant('DT_INT32', [2 * L], [0, 0, 0, 0, 1, 1, 1, 1], { name: 'segs' });
      return g.op(
        'SparseSegmentSum',
        [E, flat, segs],
        {
          T: attr.type(DataType.DT_FLOAT),
          Tidx: attr.type(DataType.DT_INT32),
          Tsegmentids: attr.type(DataType.DT_INT32),
        },
        { outDtypes: [DataType.DT_FLOAT] },
      )[0]!;
    },
    reference: bagSums,
  },
  {
    name: 'GatherV2 on axis 1 of a transposed table, ids cast from int64 and concatenated',
    build: (g, E, ids) => {
      const cast = g.cast(ids, 'DT_INT32');
      const flat = g.concatV2([g.reshape(cast, [-1])], 0);
      return g.transpose(g.gatherV2(g.transpose(E, [1, 0]), flat, 1), [1, 0]);
    },
    reference: gathered,
    idsDtype: 'DT_INT64',
  },
];

before(async () => {
  await initBackend('wasm');
});

/** Kernel calls on the tfjs engine while `fn` runs. */
async function kernelCalls<T>(fn: () => Promise<T>): Promise<{ calls: number; result?: T; error?: unknown }> {
  const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
  const original = engine.runKernel;
  let calls = 0;
  engine.runKernel = function (this: unknown, ...args: unknown[]) {
    calls++;
    return original.apply(this, args);
  };
  try {
    return { calls, result: await fn() };
  } catch (error) {
    return { calls, error };
  } finally {
    engine.runKernel = original;
  }
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function modelOf(form: Form, rewrite: boolean): Promise<LoadedModel> {
  const g = new GraphBuilder();
  const ids = g.placeholder('ids', form.idsDtype ?? 'DT_INT32', [-1, L]);
  const E = g.constant('DT_FLOAT', [V, D], table, { name: 'E' });
  g.identity(form.build(g, E, ids), { name: 'out' });
  const dir = await mkdtemp(join(tmpdir(), 'ctr-guard-'));
  dirs.push(dir);
  await writeFile(join(dir, 'frozen_graph.pb'), encodeGraphDef(g.toGraphDef()));
  await writeFile(
    join(dir, 'model.json'),
    JSON.stringify({ inputs: { ids: 'ids:0' }, outputs: { out: 'out:0' } }),
  );
  return loadModel(dir, { rewrite });
}

const idsTensor = (values: number[], dtype: 'DT_INT32' | 'DT_INT64'): HostTensor => ({
  dtype,
  shape: [2, L],
  values: dtype === 'DT_INT32' ? Int32Array.from(values) : values,
});

for (const form of FORMS) {
  for (const rewrite of [true, false]) {
    describe(`${form.name} (rewrites ${rewrite ? 'on' : 'off'})`, () => {
      let model: LoadedModel;
      before(async () => {
        model = await modelOf(form, rewrite);
      });
      after(() => model.dispose());

      test('the guard is derived from the table in the graph that runs', () => {
        const range = model.info.signatures.serving_default!.indexRanges?.ids;
        assert.equal(range?.limit, V);
      });

      test('in-range ids read the table rows', async () => {
        const ids = [0, 1, 2, 6, 5, 4, 3, 6];
        const out = await model.predictHost({ ids: idsTensor(ids, form.idsDtype ?? 'DT_INT32') });
        const got = Array.from(out.out!.values as Float32Array);
        const want = form.reference(ids, 2);
        assert.equal(got.length, want.length);
        got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `element ${i}: ${v} vs ${want[i]}`));
      });

      for (const bad of [V, -1, 1_000_000_000]) {
        test(`id ${bad} is refused before any kernel runs, on host and tensor inputs`, async () => {
          const start = tf.memory().numTensors;
          const ids = [1, 2, 3, 4, 5, bad, 0, 1];
          const dtype = form.idsDtype ?? 'DT_INT32';
          const host = await kernelCalls(() => model.predictHost({ ids: idsTensor(ids, dtype) }));
          assert.equal(host.calls, 0);
          assert.equal((host.error as { code?: string }).code, 'CTR_ERR_INDEX_OUT_OF_RANGE');
          assert.match((host.error as Error).message, /input "ids" element \[1,1\] is/);
          const t = tf.tensor(Int32Array.from(ids), [2, L], 'int32');
          if (dtype === 'DT_INT32') {
            const tensor = await kernelCalls(() => model.predict({ ids: t }));
            assert.equal(tensor.calls, 0);
            assert.equal((tensor.error as { code?: string }).code, 'CTR_ERR_INDEX_OUT_OF_RANGE');
          }
          t.dispose();
          assert.equal(tf.memory().numTensors, start);
        });
      }
    });
  }
}

test('a table of dynamic size gets no guard, and the kernel refusing an index is still a 400 code', async () => {
  const g = new GraphBuilder();
  const params = g.placeholder('params', 'DT_FLOAT', null);
  const ids = g.placeholder('ids', 'DT_INT32', [-1]);
  g.identity(g.gatherV2(params, ids, 0), { name: 'out' });
  const dir = await mkdtemp(join(tmpdir(), 'ctr-guard-'));
  dirs.push(dir);
  await writeFile(join(dir, 'frozen_graph.pb'), encodeGraphDef(g.toGraphDef()));
  const json = { inputs: { params: 'params:0', ids: 'ids:0' }, outputs: { out: 'out:0' } };
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  const model = await loadModel(dir);
  try {
    assert.equal(model.info.signatures.serving_default!.indexRanges, undefined);
    const feed = (id: number) => ({
      params: { dtype: 'DT_FLOAT', shape: [2, 2], values: Float32Array.of(1, 2, 3, 4) } as HostTensor,
      ids: { dtype: 'DT_INT32', shape: [1], values: Int32Array.of(id) } as HostTensor,
    });
    const ok = await model.predictHost(feed(1));
    assert.deepEqual(Array.from(ok.out!.values as Float32Array), [3, 4]);
    await assert.rejects(model.predictHost(feed(5)), { code: 'CTR_ERR_INDEX_OUT_OF_RANGE' });
  } finally {
    model.dispose();
  }
});
