import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { GraphBuilder } from '../../../src/graph/builder/graph-builder.ts';
import { loadModel } from '../../../src/graph/load-model.ts';
import { encodeGraphDef } from '../../../src/graph/proto/encode.ts';
import type { GraphDef } from '../../../src/graph/proto/types.ts';
import { assertClose } from '../../helpers/fixtures.ts';
import { randomFloats, rng } from '../../helpers/random.ts';
import { dynamicRnnLstm, referenceDynamicRnn } from '../../helpers/tf1-dynamic-rnn.ts';
import { kerasRnnLayer, referenceRnn, type Cell, type RnnWeights } from '../../helpers/keras-rnn.ts';

const dir = mkdtempSync(join(tmpdir(), 'ctr-recurrent-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const F = 3;
const U = 4;

function weightsFor(cell: Cell, next: () => number): RnnWeights {
  const G = cell === 'lstm' ? 4 : 3;
  return {
    kernel: randomFloats(next, F * G * U, 0.8),
    recurrent: randomFloats(next, U * G * U, 0.8),
    bias: randomFloats(next, cell === 'lstm' ? G * U : 2 * G * U, 0.5),
  };
}

function writeGraph(name: string, g: GraphDef): string {
  const path = join(dir, `${name}.pb`);
  writeFileSync(path, encodeGraphDef(g));
  return path;
}

async function runAll(
  path: string,
  cases: [number, number][],
  expect: (x: Float32Array, B: number, T: number) => Float64Array,
) {
  const model = await loadModel(path);
  try {
    const before = tf.memory().numTensors;
    const next = rng(7);
    for (const [B, T] of cases) {
      const x = randomFloats(next, B * T * F);
      const input = tf.tensor(x, [B, T, F]);
      const out = await model.predict({ x: input });
      const y = out.y!;
      assert.deepEqual(y.shape, [B, expect(x, B, T).length / B], `B=${B} T=${T}`);
      assertClose(await y.data(), expect(x, B, T), 1e-5, 1e-5);
      tf.dispose([input, ...Object.values(out)]);
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor outlives a call');
  } finally {
    model.dispose();
  }
}

const CASES: [number, number][] = [
  [1, 1],
  [2, 3],
  [5, 7],
  [3, 12],
];

for (const cell of ['lstm', 'gru'] as const) {
  test(`a Keras ${cell.toUpperCase()} as TF 2.x writes it (StatelessWhile + TensorList) matches the plain recurrence`, async () => {
    const w = weightsFor(cell, rng(cell === 'lstm' ? 1 : 2));
    const g = new GraphBuilder();
    const x = g.placeholder('x', 'DT_FLOAT', [-1, -1, F]);
    const last = kerasRnnLayer(g, x, { scope: cell, cell, features: F, units: U, weights: w });
    g.identity(last, { name: 'y' });
    const def = g.toGraphDef();
    assert.ok(def.node.some((n) => n.op === 'StatelessWhile') && def.library?.function.length === 2);
    await runAll(writeGraph(cell, def), CASES, (xs, B, T) => referenceRnn(cell, xs, B, T, F, U, w));
  });
}

test('a Keras Bidirectional(LSTM) (two loops, the backward one over ReverseV2) matches the plain recurrences', async () => {
  const next = rng(3);
  const fw = weightsFor('lstm', next);
  const bw = weightsFor('lstm', next);
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [-1, -1, F]);
  const a = kerasRnnLayer(g, x, {
    scope: 'bidirectional/forward_lstm',
    cell: 'lstm',
    features: F,
    units: U,
    weights: fw,
  });
  const b = kerasRnnLayer(g, x, {
    scope: 'bidirectional/backward_lstm',
    cell: 'lstm',
    features: F,
    units: U,
    weights: bw,
    goBackwards: true,
  });
  g.concatV2([a, b], -1, { name: 'y' });
  await runAll(writeGraph('bilstm', g.toGraphDef()), CASES, (xs, B, T) => {
    const f = referenceRnn('lstm', xs, B, T, F, U, fw);
    const r = referenceRnn('lstm', xs, B, T, F, U, bw, true);
    const out = new Float64Array(B * 2 * U);
    for (let i = 0; i < B; i++) {
      out.set(f.subarray(i * U, (i + 1) * U), i * 2 * U);
      out.set(r.subarray(i * U, (i + 1) * U), i * 2 * U + U);
    }
    return out;
  });
});

test('a TF1 dynamic_rnn loop (Enter/Merge/Switch/Exit, TensorArrayV3) matches the plain recurrence', async () => {
  const next = rng(4);
  const kernel = randomFloats(next, (F + U) * 4 * U, 0.8);
  const bias = randomFloats(next, 4 * U, 0.5);
  const g = new GraphBuilder();
  const x = g.placeholder('x', 'DT_FLOAT', [-1, -1, F]);
  const { outputs, h } = dynamicRnnLstm(g, x, { features: F, units: U, kernel, bias });
  g.identity(h, { name: 'y' });
  g.identity(outputs, { name: 'seq' });
  const path = writeGraph('dynamic_rnn', g.toGraphDef());
  await runAll(path, CASES, (xs, B, T) => referenceDynamicRnn(xs, B, T, F, U, kernel, bias).h);
  const model = await loadModel(path);
  try {
    const xs = randomFloats(next, 2 * 5 * F);
    const input = tf.tensor(xs, [2, 5, F]);
    const { seq, y } = await model.predict({ x: input });
    assert.deepEqual(seq!.shape, [2, 5, U]);
    assertClose(await seq!.data(), referenceDynamicRnn(xs, 2, 5, F, U, kernel, bias).outputs, 1e-5, 1e-5);
    tf.dispose([input, seq!, y!]);
  } finally {
    model.dispose();
  }
});
