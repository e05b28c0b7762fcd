import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/graph/backend.ts';
import { distillLoss, sigmoidCrossEntropy } from '../../src/training/losses.ts';

before(() => initBackend());

const sig = (z: number) => 1 / (1 + Math.exp(-z));
const ce = (q: number, p: number) => -(q * Math.log(p) + (1 - q) * Math.log(1 - p));

function lossOf(
  kind: 'none' | 'hinton' | 'tang',
  s: number[],
  y: number[],
  w: number[],
  t: number[],
  alpha: number,
  T: number,
) {
  return tf.tidy(
    () =>
      distillLoss(
        kind,
        {
          studentLogit: tf.tensor1d(s),
          label: tf.tensor1d(y),
          labelWeight: tf.tensor1d(w),
          teacherLogit: tf.tensor1d(t),
        },
        { alpha, temperature: T },
      ).dataSync()[0]!,
  );
}

test('sigmoid cross-entropy at logit 0 is ln 2 and stays finite for large logits', () => {
  const v = tf.tidy(() => sigmoidCrossEntropy(tf.tensor1d([1, 0, 1]), tf.tensor1d([0, 80, -80])).dataSync());
  assert.ok(Math.abs(v[0]! - Math.LN2) < 1e-6);
  assert.ok(Math.abs(v[1]! - 80) < 1e-4 && Math.abs(v[2]! - 80) < 1e-4);
});

test('the no-KD loss is the mean cross-entropy of the labelled rows only', () => {
  // rows: (z=1, y=1, w=1), (z=-2, y=0, w=1), (z=3, y=0, w=0: teacher-only row, ignored)
  const want = (ce(1, sig(1)) + ce(0, sig(-2))) / 2;
  assert.ok(Math.abs(lossOf('none', [1, -2, 3], [1, 0, 0], [1, 1, 0], [0, 0, 0], 0.5, 1) - want) < 1e-6);
});

test('the Hinton loss adds α·T²·KL between tempered sigmoids over all rows', () => {
  const s = [1, -2, 3];
  const t = [2, -1, 0.5];
  const T = 2;
  const alpha = 0.5;
  const hard = (ce(1, sig(1)) + ce(0, sig(-2))) / 2;
  const kl = s.map((z, i) => ce(sig(t[i]! / T), sig(z / T)) - ce(sig(t[i]! / T), sig(t[i]! / T)));
  const want = hard + alpha * T * T * (kl.reduce((a, b) => a + b) / 3);
  const got = lossOf('hinton', s, [1, 0, 0], [1, 1, 0], t, alpha, T);
  assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
});

test('the Hinton soft term vanishes when the student copies the teacher', () => {
  const z = [0.3, -1.2];
  const hard = (ce(1, sig(0.3)) + ce(0, sig(-1.2))) / 2;
  assert.ok(Math.abs(lossOf('hinton', z, [1, 0], [1, 1], z, 1, 3) - hard) < 1e-5);
});

test('the Tang loss adds α·MSE between student and teacher logits', () => {
  const s = [1, -2, 3];
  const t = [2, -1, 0.5];
  const hard = (ce(1, sig(1)) + ce(0, sig(-2))) / 2;
  const mse = (1 + 1 + 6.25) / 3;
  assert.ok(Math.abs(lossOf('tang', s, [1, 0, 0], [1, 1, 0], t, 2, 1) - (hard + 2 * mse)) < 1e-5);
});

test('a distillation loss without teacher logits fails with CTR_ERR_TRAINING_CONFIG and leaks no tensor', () => {
  const before = tf.memory().numTensors;
  const s = tf.tensor1d([0]);
  const y = tf.tensor1d([1]);
  assert.throws(
    () => distillLoss('tang', { studentLogit: s, label: y, labelWeight: y }, { alpha: 1, temperature: 1 }),
    (e: { code?: string }) => e.code === 'CTR_ERR_TRAINING_CONFIG',
  );
  s.dispose();
  y.dispose();
  assert.equal(tf.memory().numTensors, before);
});
