import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/graph/backend.ts';
import { Prng } from '../../src/training/data/prng.ts';
import { createParams } from '../../src/training/model/params.ts';
import { type TeacherConfig, teacherSpecs } from '../../src/training/model/teacher.ts';
import { type TeacherTrainConfig, pretrainTeacher } from '../../src/training/teacher-training.ts';
import { registerWasmTrainingKernels } from '../../src/training/wasm-training-kernels.ts';

before(async () => {
  if ((await initBackend()) === 'wasm') registerWasmTrainingKernels();
});

const V = 30;
const model: TeacherConfig = {
  vocabSize: V,
  historyLength: 4,
  dim: 8,
  heads: 2,
  layers: 1,
  ffnDim: 16,
  headDim: 4,
};

/** Rows of L + 1 items drawn with a skewed popularity (item i with weight ∝ 1/i), so that q is far from uniform. */
function skewedRows(rows: number): Int32Array {
  const rng = new Prng(3);
  const weights = Array.from({ length: V - 1 }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  return Int32Array.from({ length: rows * (model.historyLength + 1) }, () => {
    let u = rng.next() * total;
    for (let i = 0; i < weights.length; i++) if ((u -= weights[i]!) <= 0) return i + 1;
    return V - 1;
  });
}

function pretrain(
  train: TeacherTrainConfig,
  rows: Int32Array,
  popularity: Float64Array,
  transitions: boolean,
) {
  const m = { ...model, transitions };
  const store = createParams(teacherSpecs(m), new Prng(1));
  try {
    const curve = pretrainTeacher(store, m, train, rows, new Prng(2), undefined, popularity);
    const read = (name: string) => Array.from(store.variables[name]!.dataSync());
    const from = transitions ? read('teacher/transition/from') : [];
    return { curve, bias: read('teacher/mlm/output_bias'), items: read('teacher/embeddings/item'), from };
  } finally {
    store.dispose();
  }
}

// A softmax does not change when every logit of a row moves by one constant. With subtractLogQ the scored items'
// logits are s + b − log(n·q), and the output bias starts at log q − c: the logits, and so the losses and every
// gradient, are those of the uncorrected run whose bias starts at 0, and the bias stays log q − c above it. The
// reference is that uncorrected run (TensorFlow's sampled_softmax_loss, nn_impl.py, subtracts log Q the same way).
// With the transition term (model/teacher.ts) the same holds: it adds from(prev)·to(item) to every scored logit.
for (const [inBatchNegatives, transitions] of [
  [true, false],
  [false, false],
  [true, true],
  [false, true],
]) {
  test(`subtractLogQ (in-batch negatives ${inBatchNegatives}, transitions ${transitions}): same losses as without it, bias moved by log q`, () => {
    const rows = skewedRows(64);
    const popularity = new Float64Array(V);
    for (const id of rows) popularity[id]!++;
    const base: TeacherTrainConfig = {
      batchSize: 8,
      pretrainSteps: 6,
      pretrainLearningRate: 1e-2,
      maskProb: 0.3,
      finetuneSteps: 0,
      headLearningRate: 1e-2,
      encoderLrRatio: 0.01,
      sampledNegatives: 16,
      inBatchNegatives,
      transitionLrScale: 10,
    };
    const tensors = tf.memory().numTensors;
    const plain = pretrain(base, rows, popularity, transitions!);
    const corrected = pretrain({ ...base, subtractLogQ: true }, rows, popularity, transitions!);
    assert.equal(corrected.curve.length, plain.curve.length);
    corrected.curve.forEach((p, i) =>
      assert.ok(Math.abs(p.loss - plain.curve[i]!.loss) < 1e-4, `step ${p.step}`),
    );
    // plain's losses move: the check is not of a run that stood still
    assert.notEqual(plain.curve[0]!.loss, plain.curve.at(-1)!.loss);
    const seen = Array.from({ length: V }, (_, i) => i).filter((i) => popularity[i]! > 0);
    const meanLog = seen.reduce((a, i) => a + Math.log(popularity[i]!), 0) / seen.length;
    for (const i of seen) {
      const shift = corrected.bias[i]! - plain.bias[i]!;
      assert.ok(Math.abs(shift - (Math.log(popularity[i]!) - meanLog)) < 1e-3, `item ${i}: ${shift}`);
    }
    const gap = corrected.items.reduce((m, x, k) => Math.max(m, Math.abs(x - plain.items[k]!)), 0);
    assert.ok(gap < 1e-4, `item table differs by ${gap}`);
    const fromGap = corrected.from.reduce((m, x, k) => Math.max(m, Math.abs(x - plain.from[k]!)), 0);
    assert.ok(fromGap < 1e-4, `transition table differs by ${fromGap}`);
    if (transitions)
      assert.ok(
        plain.from.some((x) => x !== 0),
        'the transition table learnt nothing',
      );
    assert.equal(tf.memory().numTensors, tensors);
  });
}
