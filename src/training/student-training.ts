import * as tf from '@tensorflow/tfjs-core';
import type { Prng } from './data/prng.ts';
import { type TrainSet, batchIndices, toTensors } from './dataset.ts';
import { type LossKind, type LossParams, distillLoss } from './losses.ts';
import { eagerOps } from './model/ops.ts';
import type { ParamStore } from './model/params.ts';
import { type StudentConfig, studentForward } from './model/student.ts';
import type { Progress } from './progress.ts';
import { type CurvePoint, trainLoop } from './trainer.ts';

/**
 * Trains a student with one loss, as a configuration of trainLoop. With loss 'none' the set should hold only
 * labelled rows (the baseline sees exactly the labelled data); with 'hinton' or 'tang' it is the transfer set
 * with teacher logits.
 */
export type StudentTrainConfig = {
  readonly batchSize: number;
  readonly steps: number;
  readonly learningRate: number;
  readonly loss: LossParams;
};

export function trainStudent(
  params: ParamStore,
  model: StudentConfig,
  kind: LossKind,
  train: StudentTrainConfig,
  set: TrainSet,
  rng: Prng,
  progress?: Progress,
): CurvePoint[] {
  const next = batchIndices(set.rows, train.batchSize, rng);
  const w = params.variables as Record<string, tf.Tensor>;
  return trainLoop({
    steps: train.steps,
    groups: [{ variables: params.list(), learningRate: train.learningRate }],
    progress,
    nextBatch: () => next(),
    loss: (idx) => {
      const b = toTensors(set, idx);
      const { logit } = studentForward(eagerOps, w, model, b.history, b.candidate);
      return distillLoss(
        kind,
        {
          studentLogit: logit as tf.Tensor1D,
          label: b.label,
          labelWeight: b.labelWeight,
          teacherLogit: b.teacherLogit,
        },
        train.loss,
      );
    },
  });
}
