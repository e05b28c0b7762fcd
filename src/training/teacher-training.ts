import * as tf from '@tensorflow/tfjs-core';
import type { ClickLog } from './data/click-log.ts';
import type { Prng } from './data/prng.ts';
import { batchIndices, toTensors, trainSetOf } from './dataset.ts';
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
import { type CurvePoint, trainLoop } from './trainer.ts';

/**
 * The teacher's two stages, both configurations of trainLoop:
 * - pretrain: masked-item prediction on unlabelled click sequences (rows × (L+1)). The last slot is always masked
 *   (next-click prediction), other clicks with probability maskProb; full softmax over the small vocabulary.
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
};

export function pretrainTeacher(
  params: ParamStore,
  model: TeacherConfig,
  train: TeacherTrainConfig,
  sequences: Int32Array,
  rng: Prng,
  progress?: Progress,
): CurvePoint[] {
  const S = model.historyLength + 1;
  const rows = sequences.length / S;
  const next = batchIndices(rows, train.batchSize, rng);
  const w = params.variables as Record<string, tf.Tensor>;
  return trainLoop({
    steps: train.pretrainSteps,
    groups: [{ variables: params.list('encoder'), learningRate: train.pretrainLearningRate }],
    progress,
    nextBatch: () => {
      const idx = next();
      const tokens = new Int32Array(idx.length * S);
      const positions: number[] = [];
      const targets: number[] = [];
      idx.forEach((r, i) => {
        for (let j = 0; j < S; j++) {
          const id = sequences[r * S + j]!;
          tokens[i * S + j] = id;
          if (id !== 0 && (j === S - 1 || rng.next() < train.maskProb)) {
            tokens[i * S + j] = model.vocabSize;
            positions.push(i * S + j);
            targets.push(id);
          }
        }
      });
      return {
        tokens,
        n: idx.length,
        positions: Int32Array.from(positions),
        targets: Int32Array.from(targets),
      };
    },
    loss: (b) => {
      const hidden = teacherEncode(eagerOps, w, model, tf.tensor2d(b.tokens, [b.n, S], 'int32'));
      const t = mlmTransform(eagerOps, w, tf.gather(hidden, tf.tensor1d(b.positions, 'int32')));
      const logp = tf.logSoftmax(mlmLogits(eagerOps, w, t));
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
  const next = batchIndices(set.rows, train.batchSize, rng);
  const w = params.variables as Record<string, tf.Tensor>;
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
      const { logit } = teacherForward(eagerOps, w, model, b.history, b.candidate);
      return distillLoss(
        'none',
        { studentLogit: logit as tf.Tensor1D, label: b.label, labelWeight: b.labelWeight },
        { alpha: 0, temperature: 1 },
      );
    },
  });
}
