import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { buildReferenceStudentGraph, parseReferenceWeights } from '../../bench/reference-student.ts';
import { loadModel } from '../../src/graph/load-model.ts';
import type { LoadedModel } from '../../src/graph/model.ts';
import { encodeGraphDef } from '../../src/graph/proto/encode.ts';
import { BENCH_REFERENCE, skipWithoutBenchReference } from '../helpers/fixtures.ts';

const B = 1024;
const L = 50;

describe('the reference student built as a frozen GraphDef', { skip: skipWithoutBenchReference }, () => {
  let dir: string;
  let history: Int32Array;
  let candidate: Int32Array;
  let expected: Float32Array;

  before(async () => {
    const meta = JSON.parse(await readFile(join(BENCH_REFERENCE, 'meta.json'), 'utf8'));
    const weights = parseReferenceWeights(await readFile(join(BENCH_REFERENCE, 'weights.bin')), meta);
    const graph = buildReferenceStudentGraph(weights);
    const ops = new Set(graph.node.map((n) => n.op));
    const allowed = [
      'Placeholder',
      'Const',
      'GatherV2',
      'Mean',
      'ConcatV2',
      'Mul',
      'MatMul',
      'BiasAdd',
      'Relu',
    ];
    for (const op of ops) assert.ok([...allowed, 'Sigmoid', 'Identity', 'Squeeze'].includes(op), op);
    dir = await mkdtemp(join(tmpdir(), 'ctr-ref-'));
    await writeFile(join(dir, 'frozen_graph.pb'), encodeGraphDef(graph));
    const sidecar = {
      inputs: { history: 'history:0', candidate: 'candidate:0' },
      outputs: { ctr: 'ctr:0', logit: 'logit:0' },
      vocab_size: meta.V,
    };
    await writeFile(join(dir, 'model.json'), JSON.stringify(sidecar));
    const inputs = await readFile(join(BENCH_REFERENCE, 'inputs.bin'));
    const ints = new Int32Array(
      inputs.buffer.slice(inputs.byteOffset, inputs.byteOffset + inputs.byteLength),
    );
    history = ints.slice(0, B * L);
    candidate = ints.slice(B * L, B * L + B);
    const exp = await readFile(join(BENCH_REFERENCE, 'expected.f32'));
    expected = new Float32Array(exp.buffer.slice(exp.byteOffset, exp.byteOffset + exp.byteLength));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const check = async (model: LoadedModel) => {
    const out = await model.predictHost({
      history: { dtype: 'DT_INT32', shape: [B, L], values: history },
      candidate: { dtype: 'DT_INT32', shape: [B], values: candidate },
    });
    assert.deepEqual(out.ctr.shape, [B]);
    assert.deepEqual(out.logit.shape, [B]);
    const ctr = out.ctr.values as Float32Array;
    const logit = out.logit.values as Float32Array;
    let worst = 0;
    for (let i = 0; i < B; i++) {
      worst = Math.max(worst, Math.abs(ctr[i] - expected[i]));
      // the logit is the sigmoid's argument
      assert.ok(Math.abs(1 / (1 + Math.exp(-logit[i])) - ctr[i]) < 1e-6);
    }
    assert.ok(worst <= 1e-5, `largest |ctr - expected| is ${worst}`);
  };

  test('loads through the frozen-graph path with model.json and matches expected.f32 within 1e-5', async () => {
    const model = await loadModel(dir);
    try {
      assert.equal(model.info.format, 'frozen_graph');
      assert.equal(model.info.vocabSize, 20000);
      assert.deepEqual(model.info.signatures.serving_default.inputs.history.shape, [-1, L]);
      await check(model);
    } finally {
      model.dispose();
    }
  });

  test('matches expected.f32 without the load-time rewrites as well', async () => {
    const model = await loadModel(dir, { rewrite: false });
    try {
      await check(model);
    } finally {
      model.dispose();
    }
  });

  test('matches expected.f32 at batch sizes 1, 7, 1024, 0 and 7 again in turn, without leaking tensors', async () => {
    const model = await loadModel(dir);
    try {
      const run = async (start: number, rows: number) => {
        const out = await model.predictHost({
          history: {
            dtype: 'DT_INT32',
            shape: [rows, L],
            values: history.subarray(start * L, (start + rows) * L),
          },
          candidate: { dtype: 'DT_INT32', shape: [rows], values: candidate.subarray(start, start + rows) },
        });
        const ctr = out.ctr.values as Float32Array;
        assert.equal(ctr.length, rows);
        for (let i = 0; i < rows; i++)
          assert.ok(Math.abs(ctr[i] - expected[start + i]) <= 1e-5, `row ${start + i}`);
      };
      await run(3, 1);
      const tensors = tf.memory().numTensors;
      for (const [start, rows] of [
        [10, 7],
        [0, B],
        [5, 0],
        [900, 7],
      ])
        await run(start, rows);
      assert.equal(tf.memory().numTensors, tensors);
    } finally {
      model.dispose();
    }
  });

  test('refuses a history of the wrong length, since [?,50] is the signature', async () => {
    const model = await loadModel(dir);
    try {
      const h = tf.zeros([2, L - 1], 'int32');
      const c = tf.zeros([2], 'int32');
      await assert.rejects(model.predict({ history: h, candidate: c }), { code: 'CTR_ERR_INPUT_MISMATCH' });
      tf.dispose([h, c]);
    } finally {
      model.dispose();
    }
  });
});
