import * as tf from '@tensorflow/tfjs-core';
import type { DistillConfig } from './config.ts';
import type { DistillData } from './data/load-data.ts';
import type { Prng } from './data/prng.ts';
import { itemCounts } from './data/popularity-sampler.ts';
import { type Forward, type TrainSet, predictLogits } from './dataset.ts';
import { cooccurrenceEmbeddings } from './model/cooccurrence-embeddings.ts';
import { eagerOps } from './model/ops.ts';
import { type ParamStore, createParams } from './model/params.ts';
import { sharedHistoryTeacher } from './model/shared-history-teacher.ts';
import { type TeacherConfig, teacherForward, teacherSpecs } from './model/teacher.ts';
import type { Progress } from './progress.ts';
import { finetuneTeacher, pretrainTeacher } from './teacher-training.ts';
import type { CurvePoint } from './trainer.ts';
import { buildTransferSet } from './transfer-set.ts';

/**
 * The teacher's part of runDistill (docs/training.md): pretrain on the unlabelled sequences (masked items; a
 * sampled softmax over large vocabularies), fine-tune on the labelled rows, then freeze it and let it label the
 * transfer set. Random draws come from `rng` in a fixed order (parameters, then training), so a seed's run is
 * the same run. The caller disposes `store`.
 */
export type Bar = (label: string, total: number) => Progress;

export type TrainedTeacher = {
  readonly config: TeacherConfig;
  readonly store: ParamStore;
  readonly forward: Forward;
  /** teacherForward row by row (no shared histories): what latency is measured on. */
  readonly rowForward: Forward;
  readonly curves: Record<string, CurvePoint[]>;
  readonly testLogits: Float32Array;
};

export function trainTeacher(c: DistillConfig, data: DistillData, rng: Prng, bar: Bar): TrainedTeacher {
  const L = c.data.clickModel.historyLength;
  const config: TeacherConfig = { vocabSize: data.vocabSize, historyLength: L, ...c.teacher };
  const store = createParams(teacherSpecs(config), rng.fork());
  const teacherRng = rng.fork();
  if (c.teacher.train.cooccurrenceInit)
    initItemsFromCooccurrence(store, config, data.sequences, teacherRng.fork());
  const curves: Record<string, CurvePoint[]> = {};
  curves['teacher pretrain (masked items)'] = pretrainTeacher(
    store,
    config,
    c.teacher.train,
    data.sequences,
    teacherRng,
    bar('teacher pretrain', c.teacher.train.pretrainSteps),
    data.ranking?.popularity ?? pretrainPopularity(data),
  );
  curves['teacher fine-tune'] = finetuneTeacher(
    store,
    config,
    c.teacher.train,
    data.train,
    teacherRng,
    bar('teacher fine-tune', c.teacher.train.finetuneSteps),
  );
  const w = store.variables as Record<string, tf.Tensor>;
  const rowForward: Forward = (h, cand) => teacherForward(eagerOps, w, config, h, cand);
  // Click sequences repeat each history over its candidates: encode it once (model/shared-history-teacher.ts).
  const forward = data.ranking ? sharedHistoryTeacher(w, config) : rowForward;
  const testLogits = predictLogits(forward, data.test.history, data.test.candidate, L);
  return { config, store, forward, rowForward, curves, testLogits };
}

/** The transfer set (labelled rows, perturbed copies, unlabelled rows), every row labelled by the teacher. */
export function labelTransferSet(
  c: DistillConfig,
  data: DistillData,
  teacher: TrainedTeacher,
  rng: Prng,
  bar: Bar,
): TrainSet {
  const transfer = buildTransferSet(data.train, data.sequences, c.transfer, rng);
  const L = c.data.clickModel.historyLength;
  const label = bar('teacher labels', transfer.rows);
  return {
    ...transfer,
    teacherLogit: predictLogits(teacher.forward, transfer.history, transfer.candidate, L, 2048, label),
  };
}

/** Item weights of a sampled softmax on synthetic or CSV data: the items' counts in the pretraining sequences. */
function pretrainPopularity(data: DistillData): Float64Array {
  const counts = itemCounts(data.sequences, data.vocabSize - 1);
  counts[0] = 0;
  return counts;
}

/**
 * Overwrites the rows of the items present in the pretraining rows with their co-occurrence vectors, scaled to a
 * mean row norm of 1 (items absent keep their random rows, and so does MASK).
 */
function initItemsFromCooccurrence(store: ParamStore, c: TeacherConfig, rows: Int32Array, rng: Prng): void {
  const table = store.variables['teacher/embeddings/item']!;
  const values = table.dataSync() as Float32Array;
  const { vectors, present } = cooccurrenceEmbeddings(
    rows,
    c.historyLength + 1,
    c.vocabSize,
    {
      dim: c.dim,
      window: c.historyLength,
      rowNorm: 1,
    },
    rng,
  );
  const next = Float32Array.from(values);
  for (let i = 0; i < c.vocabSize; i++)
    if (present[i]) next.set(vectors.subarray(i * c.dim, (i + 1) * c.dim), i * c.dim);
  tf.tidy(() => table.assign(tf.tensor2d(next, table.shape as [number, number])));
}

/** Parameter count of a teacher config. */
export function teacherParamCount(config: TeacherConfig): number {
  return teacherSpecs(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
