import * as tf from '@tensorflow/tfjs-core';
import type { ClickLog } from './data/click-log.ts';
import type { Prng } from './data/prng.ts';
import type { Progress } from './progress.ts';

/**
 * Training rows in columns (host arrays) and the batching around them. A TrainSet is a click log's rows, or a
 * distillation transfer set whose augmented rows have labelWeight 0 (only the teacher labels them, in
 * teacherLogit). Batches become tensors only inside the trainer's tidy.
 */
export type TrainSet = {
  readonly rows: number;
  readonly historyLength: number;
  readonly history: Int32Array;
  readonly candidate: Int32Array;
  readonly label: Float32Array;
  readonly labelWeight: Float32Array;
  readonly teacherLogit?: Float32Array;
};

export type TensorBatch = {
  history: tf.Tensor2D;
  candidate: tf.Tensor1D;
  label: tf.Tensor1D;
  labelWeight: tf.Tensor1D;
  teacherLogit?: tf.Tensor1D;
};

export function trainSetOf(log: ClickLog): TrainSet {
  return {
    rows: log.rows,
    historyLength: log.historyLength,
    history: log.history,
    candidate: log.candidate,
    label: Float32Array.from(log.clicked),
    labelWeight: new Float32Array(log.rows).fill(1),
  };
}

/** Row indices for `steps` batches: reshuffled every pass over the rows. */
export function batchIndices(rows: number, batchSize: number, rng: Prng): () => Int32Array {
  let order = new Int32Array(0);
  let pos = 0;
  return () => {
    const out = new Int32Array(Math.min(batchSize, rows));
    for (let i = 0; i < out.length; i++) {
      if (pos >= order.length) {
        order = Int32Array.from({ length: rows }, (_, k) => k);
        rng.shuffle(order);
        pos = 0;
      }
      out[i] = order[pos++]!;
    }
    return out;
  };
}

/** Host rows → tensors (caller disposes, normally inside tf.tidy). */
export function toTensors(set: TrainSet, idx: Int32Array): TensorBatch {
  const L = set.historyLength;
  const n = idx.length;
  const h = new Int32Array(n * L);
  const c = new Int32Array(n);
  const y = new Float32Array(n);
  const w = new Float32Array(n);
  const t = set.teacherLogit ? new Float32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const r = idx[i]!;
    h.set(set.history.subarray(r * L, (r + 1) * L), i * L);
    c[i] = set.candidate[r]!;
    y[i] = set.label[r]!;
    w[i] = set.labelWeight[r]!;
    if (t) t[i] = set.teacherLogit![r]!;
  }
  return {
    history: tf.tensor2d(h, [n, L], 'int32'),
    candidate: tf.tensor1d(c, 'int32'),
    label: tf.tensor1d(y),
    labelWeight: tf.tensor1d(w),
    teacherLogit: t ? tf.tensor1d(t) : undefined,
  };
}

export type Forward = (history: tf.Tensor2D, candidate: tf.Tensor1D) => { logit: tf.Tensor; ctr: tf.Tensor };

/** Logits of a model for every row, in batches; no tensor outlives the call. */
export function predictLogits(
  forward: Forward,
  history: Int32Array,
  candidate: Int32Array,
  historyLength: number,
  batchSize = 2048,
  progress?: Progress,
): Float32Array {
  const n = candidate.length;
  const out = new Float32Array(n);
  for (let s = 0; s < n; s += batchSize) {
    const e = Math.min(n, s + batchSize);
    const values = tf.tidy(() => {
      const h = tf.tensor2d(
        history.subarray(s * historyLength, e * historyLength),
        [e - s, historyLength],
        'int32',
      );
      const c = tf.tensor1d(candidate.subarray(s, e), 'int32');
      return forward(h, c).logit.dataSync() as Float32Array;
    });
    out.set(values, s);
    progress?.update(e);
  }
  return out;
}

export function sigmoidArray(logits: Float32Array): Float32Array {
  return logits.map((z) => 1 / (1 + Math.exp(-z)));
}
