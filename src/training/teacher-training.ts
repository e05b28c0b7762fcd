import * as tf from '@tensorflow/tfjs-core';
import type { ClickLog } from './data/click-log.ts';
import { type Prng, cumulative } from './data/prng.ts';
import { type Forward, batchIndices, toTensors, trainSetOf } from './dataset.ts';
import { distillLoss } from './losses.ts';
import { eagerOps } from './model/ops.ts';
import type { ParamStore } from './model/params.ts';
import {
  type TeacherConfig,
  mlmLogits,
  mlmTransform,
  teacherEncode,
  teacherForward,
} from './model/teacher.ts';
import type { Progress } from './progress.ts';
import { sharedHistoryTeacher } from './model/shared-history-teacher.ts';
import { type CurvePoint, trainLoop } from './trainer.ts';

/**
 * The teacher's two stages, both configurations of trainLoop:
 * - pretrain: masked-item prediction on unlabelled click sequences (rows × (L+1)). The last slot is always masked
 *   (next-click prediction), other clicks with probability maskProb; full softmax over a small vocabulary, a
 *   sampled softmax (sampledNegatives, drawn from `popularity`) over a large one.
 * - fine-tune: click/no-click cross-entropy; the encoder learns at headLearningRate × encoderLrRatio (~1/100),
 *   the new head at headLearningRate, so pretraining is not washed out.
 */
export type TeacherTrainConfig = {
  readonly batchSize: number;
  readonly pretrainSteps: number;
  readonly pretrainLearningRate: number;
  readonly maskProb: number;
  readonly finetuneSteps: number;
  readonly headLearningRate: number;
  readonly encoderLrRatio: number;
  /**
   * 0: full softmax over the vocabulary (small synthetic worlds). n > 0: sampled softmax — each masked slot is
   * scored against its target and n items shared by the batch, drawn by popularity (real vocabularies of 50k+
   * items; a full softmax there costs a [slots, V] matrix per step). Other targets equal to the slot's own are
   * masked out (accidental hits).
   */
  readonly sampledNegatives?: number;
  /**
   * With a sampled softmax, also score each slot against the batch's other targets (default true). false: only its
   * own target and the shared negatives — a [slots, n] matrix instead of [slots, slots + n], several times cheaper
   * when a batch holds ~1,000 masked slots (click sequences).
   */
  readonly inBatchNegatives?: boolean;
  /** Start the item table from co-occurrence vectors of the pretraining rows (model/cooccurrence-embeddings.ts). */
  readonly cooccurrenceInit?: boolean;
  /**
   * With a sampled softmax, subtract log(n·q(item)) from every scored item's logit, q the sampling distribution
   * (TensorFlow's sampled_softmax_loss, subtract_log_q in nn_impl.py): the logits then estimate the full
   * softmax's, popularity included, instead of the log-ratio to popularity.
   */
  readonly subtractLogQ?: boolean;
  /**
   * Pretraining learning rate of the transition tables (model/teacher.ts, `transitions`) as a multiple of
   * pretrainLearningRate (default 1). Each of their rows gets a gradient only in the batches where its item
   * precedes a masked slot, like an embedding table's.
   */
  readonly transitionLrScale?: number;
};

export function pretrainTeacher(
  params: ParamStore,
  model: TeacherConfig,
  train: TeacherTrainConfig,
  sequences: Int32Array,
  rng: Prng,
  progress?: Progress,
  popularity?: Float64Array,
): CurvePoint[] {
  const S = model.historyLength + 1;
  const sampled = train.sampledNegatives ?? 0;
  if (sampled > 0 && !popularity) throw new Error('sampled softmax needs item popularity');
  const rows = sequences.length / S;
  const next = batchIndices(rows, train.batchSize, rng);
  const w = params.variables as Record<string, tf.Tensor>;
  const encoder = params.list('encoder');
  if (train.subtractLogQ && sampled && popularity)
    startBiasAtLogQ(w['teacher/mlm/output_bias'] as tf.Variable, popularity);
  return trainLoop({
    steps: train.pretrainSteps,
    groups: [
      { variables: encoder.filter((v) => !isTransition(v)), learningRate: train.pretrainLearningRate },
      {
        variables: encoder.filter(isTransition),
        learningRate: train.pretrainLearningRate * (train.transitionLrScale ?? 1),
      },
    ],
    progress,
    nextBatch: () => {
      const idx = next();
      const tokens = new Int32Array(idx.length * S);
      const positions: number[] = [];
      const targets: number[] = [];
      // The token before each masked slot as the model sees it (itself masked or padding at times): the
      // transition term's `from` item (model/teacher.ts).
      const prevs: number[] = [];
      idx.forEach((r, i) => {
        for (let j = 0; j < S; j++) {
          const id = sequences[r * S + j]!;
          tokens[i * S + j] = id;
          if (id !== 0 && (j === S - 1 || rng.next() < train.maskProb)) {
            tokens[i * S + j] = model.vocabSize;
            positions.push(i * S + j);
            targets.push(id);
            prevs.push(j > 0 ? tokens[i * S + j - 1]! : 0);
          }
        }
      });
      return {
        tokens,
        n: idx.length,
        positions: Int32Array.from(positions),
        targets: Int32Array.from(targets),
        prevs: Int32Array.from(prevs),
      };
    },
    loss: (b) => {
      const hidden = teacherEncode(eagerOps, w, model, tf.tensor2d(b.tokens, [b.n, S], 'int32'));
      const t = mlmTransform(eagerOps, w, tf.gather(hidden, tf.tensor1d(b.positions, 'int32')));
      const negatives = sampled ? drawNegatives(popularity!, sampled, rng) : undefined;
      const logQ = train.subtractLogQ && sampled ? logExpectedCount(popularity!, sampled) : undefined;
      const from = model.transitions
        ? tf.gather(w['teacher/transition/from']!, tf.tensor1d(b.prevs, 'int32'))
        : undefined;
      if (negatives && train.inBatchNegatives === false)
        return sharedNegativesLoss(w, t, b.targets, negatives, logQ, from);
      if (negatives) return sampledSoftmaxLoss(w, t, b.targets, negatives, logQ, from);
      let logits = mlmLogits(eagerOps, w, t);
      if (from) logits = tf.add(logits, tf.matMul(from, w['teacher/transition/to']!, false, true));
      const logp = tf.logSoftmax(logits);
      const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(b.targets, 'int32'), model.vocabSize + 1)), 1);
      return tf.neg(tf.mean(picked)) as tf.Scalar;
    },
  });
}

export function finetuneTeacher(
  params: ParamStore,
  model: TeacherConfig,
  train: TeacherTrainConfig,
  log: ClickLog,
  rng: Prng,
  progress?: Progress,
): CurvePoint[] {
  const set = trainSetOf(log);
  // Rows in runs sharing a history (click sequences) are batched by runs, and each history is encoded once.
  const group = log.group ?? 1;
  const nextRun = batchIndices(set.rows / group, Math.max(1, Math.round(train.batchSize / group)), rng);
  const next = () => (group > 1 ? expandRuns(nextRun(), group) : nextRun());
  const w = params.variables as Record<string, tf.Tensor>;
  const forward: Forward =
    group > 1 ? sharedHistoryTeacher(w, model) : (h, c) => teacherForward(eagerOps, w, model, h, c);
  return trainLoop({
    steps: train.finetuneSteps,
    groups: [
      { variables: params.list('encoder'), learningRate: train.headLearningRate * train.encoderLrRatio },
      { variables: params.list('head'), learningRate: train.headLearningRate },
    ],
    progress,
    nextBatch: () => next(),
    loss: (idxBatch) => {
      const b = toTensors(set, idxBatch);
      const { logit } = forward(b.history, b.candidate);
      return distillLoss(
        'none',
        { studentLogit: logit as tf.Tensor1D, label: b.label, labelWeight: b.labelWeight },
        { alpha: 0, temperature: 1 },
      );
    },
  });
}

const isTransition = (v: tf.Variable) => v.name.startsWith('teacher/transition/');

function expandRuns(runs: Int32Array, group: number): Int32Array {
  const out = new Int32Array(runs.length * group);
  runs.forEach((r, i) => {
    for (let k = 0; k < group; k++) out[i * group + k] = r * group + k;
  });
  return out;
}

/** `n` items drawn by popularity (with replacement: a sampled softmax's shared negatives). */
function drawNegatives(popularity: Float64Array, n: number, rng: Prng): Int32Array {
  const cum = cumulativeOf(popularity);
  return Int32Array.from({ length: n }, () => rng.pickCumulative(cum));
}

/**
 * The MLM output bias starts at log q (centred over the items with a count; the others at the lowest): with
 * subtractLogQ the corrected logits then start flat, and the bias starts as the items' unconditional log-frequency.
 */
function startBiasAtLogQ(bias: tf.Variable, popularity: Float64Array): void {
  const logs = Array.from(popularity, (p) => (p > 0 ? Math.log(p) : Number.NaN));
  const seen = logs.filter((x) => !Number.isNaN(x));
  const mean = seen.reduce((a, b) => a + b, 0) / seen.length;
  const low = seen.reduce((a, b) => Math.min(a, b), Infinity) - mean;
  const values = new Float32Array(bias.shape[0]!).fill(low);
  logs.forEach((x, i) => (values[i] = Number.isNaN(x) ? low : x - mean));
  tf.tidy(() => bias.assign(tf.tensor1d(values)));
}

/** log(n·q(i)) per item, q = popularity normalised: the expected count of item i among n draws. */
function logExpectedCount(popularity: Float64Array, n: number): (ids: Int32Array) => tf.Tensor {
  const total = popularity.reduce((a, b) => a + b, 0);
  const table = Float32Array.from(popularity, (p) => Math.log((n * Math.max(p, 1e-12)) / total));
  return (ids) => tf.tensor1d(Float32Array.from(ids, (i) => table[i]!));
}

const cumulatives = new WeakMap<Float64Array, Float64Array>();
function cumulativeOf(weights: Float64Array): Float64Array {
  let c = cumulatives.get(weights);
  if (!c) cumulatives.set(weights, (c = cumulative(weights)));
  return c;
}

/**
 * Cross-entropy of each slot's target against [its target, the shared negatives, the other slots' targets]:
 * the batch's targets serve as extra negatives (in-batch), and any candidate equal to the slot's own target
 * other than itself is masked with −10000 (an accidental hit).
 */
function sampledSoftmaxLoss(
  w: Record<string, tf.Tensor>,
  t: tf.Tensor,
  targets: Int32Array,
  negatives: Int32Array,
  logQ?: (ids: Int32Array) => tf.Tensor,
  from?: tf.Tensor,
) {
  const ids = new Int32Array(targets.length + negatives.length);
  ids.set(targets);
  ids.set(negatives, targets.length);
  const n = targets.length;
  const mask = new Float32Array(n * ids.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < ids.length; j++)
      if (j !== i && ids[j] === targets[i]) mask[i * ids.length + j] = -10000;
  }
  const idT = tf.tensor1d(ids, 'int32');
  const emb = tf.gather(w['teacher/embeddings/item']!, idT);
  let bias = tf.gather(w['teacher/mlm/output_bias']!, idT);
  if (logQ) bias = tf.sub(bias, logQ(ids));
  let logits = tf.add(
    tf.add(tf.matMul(t as tf.Tensor2D, emb as tf.Tensor2D, false, true), bias),
    tf.tensor2d(mask, [n, ids.length]),
  );
  if (from)
    logits = tf.add(logits, tf.matMul(from, tf.gather(w['teacher/transition/to']!, idT), false, true));
  const logp = tf.logSoftmax(logits);
  const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.range(0, n, 1, 'int32'), ids.length)), 1);
  return tf.neg(tf.mean(picked)) as tf.Scalar;
}

/**
 * Cross-entropy of each slot's target against [its target, the shared negatives] (no in-batch negatives): the
 * target's logit is a row-wise dot product, the negatives' a [slots, n] product; a negative equal to the slot's
 * target is masked with −10000 (an accidental hit).
 */
function sharedNegativesLoss(
  w: Record<string, tf.Tensor>,
  t: tf.Tensor,
  targets: Int32Array,
  negatives: Int32Array,
  logQ?: (ids: Int32Array) => tf.Tensor,
  from?: tf.Tensor,
) {
  const n = targets.length;
  const mask = new Float32Array(n * negatives.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < negatives.length; j++)
      if (negatives[j] === targets[i]) mask[i * negatives.length + j] = -10000;
  }
  const table = w['teacher/embeddings/item']!;
  const bias = w['teacher/mlm/output_bias']!;
  const tgt = tf.tensor1d(targets, 'int32');
  const neg = tf.tensor1d(negatives, 'int32');
  const corrected = (ids: Int32Array, idT: tf.Tensor) =>
    logQ ? tf.sub(tf.gather(bias, idT), logQ(ids)) : tf.gather(bias, idT);
  let pos = tf.add(
    tf.sum(tf.mul(t, tf.gather(table, tgt)), 1, true),
    tf.expandDims(corrected(targets, tgt), 1),
  );
  let negLogits = tf.add(
    tf.add(
      tf.matMul(t as tf.Tensor2D, tf.gather(table, neg) as tf.Tensor2D, false, true),
      corrected(negatives, neg),
    ),
    tf.tensor2d(mask, [n, negatives.length]),
  );
  if (from) {
    const to = w['teacher/transition/to']!;
    pos = tf.add(pos, tf.sum(tf.mul(from, tf.gather(to, tgt)), 1, true));
    negLogits = tf.add(negLogits, tf.matMul(from, tf.gather(to, neg), false, true));
  }
  const logp = tf.logSoftmax(tf.concat([pos, negLogits], 1));
  return tf.neg(tf.mean(tf.slice(logp, [0, 0], [n, 1]))) as tf.Scalar;
}
